"""Backpressure across replicas: a reader on replica B that stops reading holds the agent back
through replica A (which holds its link) the way a slow client of A's would, A never writing
more than a window of the answer ahead of B's reads; when the reader reads again the whole
answer arrives.

A and the agent are real processes on real Redis and PostgreSQL; B's side is the code a replica
runs (``RemoteStream``) in this process, so its client's pause is exact. (Behind a real client
of B the pause would first have to fill B's socket buffers: on loopback the kernel grows them to
a few hundred KB, about 1,200 streamed chunks, before B itself stops reading.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from aiclone_gateway.cluster.forwarding import RELAY_WINDOW, RemoteStream
from aiclone_gateway.cluster.keys import RedisKeys
from aiclone_wire import Chunk, End, decode
from tests.support.fixtures.agents import AgentProcess, write_config
from tests.support.fixtures.cluster import redis_url
from tests.support.fixtures.gateways import ChatUser, create_agent_token, wait_online
from tests.support.fixtures.replicas import metric, replica_process
from tests.support.fixtures.telegram import until

# Greedy, the essay runs to max_tokens: past the window A may write ahead (256) and the agent's
# own window on the link (256) beyond it, so an unheld A would be seen writing on.
LONG_ANSWER = 700
ESSAY = {
    "model": "my-clone",
    "stream": True,
    "messages": [{"role": "user", "content": "Write a very long essay about the history of bridges."}],
}


@pytest.mark.timeout(900)  # on a loaded machine the small model writes a few tokens a second
@pytest.mark.process
async def test_a_paused_reader_on_b_holds_the_agent_back_through_a(
    tmp_path: Path, model_path: Path, cluster_database: str, cluster_prefix: str
):
    a = replica_process(tmp_path, "a", cluster_database, cluster_prefix)
    agent = None
    redis = Redis.from_url(redis_url(), decode_responses=True)
    keys = RedisKeys(cluster_prefix)
    try:
        await asyncio.to_thread(a.start)
        owner = ChatUser(a, "owner@example.test")
        await owner.register()
        await owner.login()
        home = tmp_path / "agent"
        home.mkdir()
        config = write_config(
            home / "config.yaml",
            model={
                "base_model_path": str(model_path),
                "n_ctx": 4096,
                "max_tokens": LONG_ANSWER,
                "temperature": 0.0,
                "n_threads": 1,
            },
            gateway={"url": a.ws_url, "agent_token": await create_agent_token(owner)},
        )
        agent = await asyncio.to_thread(AgentProcess(home, model_path, config_path=config).start)
        await wait_online(a)
        relayed_before = await metric(a, "aiclone_gateway_relayed_chunks_total")

        # B relays a request to A, as it does for a client of its own, and reads one chunk.
        remote = RemoteStream(redis, keys, "a", lambda: redis.exists(keys.alive("a")))
        await remote.open(ESSAY, "api")
        frames = remote.frames(idle_timeout_s=120)
        received = [await anext(frames)]
        reply = keys.replies(remote.id)

        # B's client reads nothing more. A writes up to the window ahead and waits for B's
        # credit (so it stops taking the agent's chunks, and the agent pauses).
        async def held_back() -> bool:
            ahead = await redis.xlen(reply)
            assert ahead <= RELAY_WINDOW + 1, f"A wrote {ahead} entries ahead of B's reads"
            newest = await redis.xrevrange(reply, count=1)
            assert not (newest and isinstance(decode(newest[0][1]["frame"]), End)), (
                "the whole answer was written while B read nothing: nothing held A back"
            )
            return await metric(a, "aiclone_gateway_relay_waiting_for_reader") == 1

        await until(held_back, timeout=600, what="A to wait for B's reads")
        assert await redis.xlen(reply) <= RELAY_WINDOW + 1

        # B reads again: the rest arrives, nothing lost or repeated.
        async for frame in frames:
            received.append(frame)
        assert isinstance(received[-1], End) and received[-1].finish_reason == "length", received[-1]
        chunks = [frame for frame in received if isinstance(frame, Chunk)]
        relayed = await metric(a, "aiclone_gateway_relayed_chunks_total") - relayed_before
        assert len(chunks) == relayed  # every chunk the agent sent reached B, once, in order
        assert await metric(a, "aiclone_gateway_relay_waiting_for_reader") == 0
        assert not await redis.exists(reply)
        await owner.close()
    finally:
        await redis.aclose()
        if agent is not None:
            await asyncio.to_thread(agent.stop)
        await asyncio.to_thread(a.stop)
