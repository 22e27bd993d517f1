"""Two gateway replicas on one PostgreSQL and one Redis, each holding the link of one agent of the
same clone (real processes): a batch asked on either replica is answered by both agents, each
replica's owner page lists both agents, and the owner records in Redis are one per agent; when
the agent on one replica dies, the requests the other replica had sent it that had not started
streaming are answered by the agent linked to the other replica."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.support.fixtures.cluster import redis_url
from tests.support.fixtures.gateways import ChatUser, GatewayProcess
from tests.support.fixtures.replicas import replica_process
from tests.support.fixtures.several_agents import (
    counts,
    listed_agents,
    served,
    shares,
    start_agent,
    stream_completion,
    until,
)

# real agents and gateways (two replicas on PostgreSQL and Redis)
pytestmark = [pytest.mark.process, pytest.mark.slow]


async def ask_batch(gateway: GatewayProcess, key: str, count: int) -> None:
    async def one(n: int) -> None:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=300) as http:
            response = await http.post(
                "/v1/chat/completions",
                headers={"Authorization": f"Bearer {key}"},
                json={
                    "model": "my-clone",
                    "messages": [{"role": "user", "content": f"Say the number {n}."}],
                    "max_tokens": 6,
                },
            )
        assert response.status_code == 200, response.text

    await asyncio.gather(*(one(n) for n in range(count)))


async def test_a_batch_on_either_replica_is_answered_by_the_agents_linked_to_both_and_survives_one(
    tmp_path: Path, model_path: Path, cluster_database: str, cluster_prefix: str
):
    prefix = cluster_prefix
    a = replica_process(tmp_path, "a", cluster_database, prefix).start()
    b = replica_process(tmp_path, "b", cluster_database, prefix)
    agents = {}
    try:
        owner = ChatUser(a, "owner@example.test")
        assert (await owner.register())["role"] == "owner"
        await owner.login()
        created = [(await owner.http.post("/api/agents", json={"name": f"pc {n}"})).json() for n in range(2)]
        key = (await owner.http.post("/api/keys", json={"name": "k"})).json()["key"]
        b.start()
        # PC 0 links to replica a, PC 1 to replica b
        started = await asyncio.gather(
            asyncio.to_thread(start_agent, tmp_path / "pc-0", model_path, a, created[0]["token"]),
            asyncio.to_thread(start_agent, tmp_path / "pc-1", model_path, b, created[1]["token"]),
        )
        agents = {item["id"]: agent for item, agent in zip(created, started, strict=True)}
        owner_on_b = ChatUser(b, "owner@example.test")
        await owner_on_b.login()

        async def both_seen_with_their_load(user: ChatUser) -> bool:
            listed = await listed_agents(user)
            return all(
                listed[agent_id]["linked"] and listed[agent_id]["parallel"] == 1 for agent_id in agents
            )

        for user in (owner, owner_on_b):
            await until(
                lambda user=user: both_seen_with_their_load(user), what="both agents on both replicas"
            )
        on_a = await listed_agents(owner)
        assert on_a[created[1]["id"]]["replica"] == "b" and on_a[created[0]["id"]]["replica"] is None

        redis = Redis.from_url(redis_url(), decode_responses=True)
        try:
            owners = {agent_id: await redis.get(f"{prefix}:agent:{agent_id}:owner") for agent_id in agents}
        finally:
            await redis.aclose()
        assert all(owners.values()), owners  # one owner record per agent

        for gateway in (a, b):
            before = await counts(agents)
            await ask_batch(gateway, key, 6)
            share = await shares(agents, before)
            assert sum(share.values()) == 6 and all(n >= 2 for n in share.values()), (gateway.port, share)

        # PC 0 (on replica a) dies while requests asked on b wait for it: those that had not
        # started streaming move to PC 1 (linked to b), the client none the wiser
        (victim_id, victim), (_, survivor) = list(agents.items())
        before = await served(survivor)
        chunks_at_kill: dict[int, int] = {}
        killed = asyncio.Event()
        streams = [
            asyncio.create_task(stream_completion(b.url, key, n, chunks_at_kill, killed)) for n in range(6)
        ]

        async def victim_has_queued_work() -> bool:
            return (await listed_agents(owner_on_b))[victim_id]["in_flight"] >= 2

        await until(victim_has_queued_work, what="requests from b waiting at the agent on a")
        victim.stop(signal.SIGKILL)
        killed.set()
        results = await asyncio.gather(*streams)
        cut = [n for n, result in enumerate(results) if "error" in result]
        for n in cut:  # only a stream the victim had started may fail, and it says so
            # its chunks came from the victim, possibly read only after the kill (in transit then)
            result = results[n]
            assert result["chunks"] > 0 and result["error"]["code"] == "agent_disconnected", result
        not_started = [
            n for n, result in enumerate(results) if "text" in result and not chunks_at_kill.get(n)
        ]
        assert len(cut) <= 1 and len(not_started) >= 1, results
        assert await served(survivor) - before >= len(not_started)
        await owner.close()
        await owner_on_b.close()
    finally:
        for agent in agents.values():
            agent.stop()
        b.stop()
        a.stop()
