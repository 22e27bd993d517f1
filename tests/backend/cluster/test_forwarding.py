"""The reading side of a request relayed to another replica, against real Redis Streams: the
owner's entries are written here as the owning replica writes them (``RequestServer``; the
whole path runs in tests/deploy/test_replicas.py)."""

from __future__ import annotations

import asyncio

import pytest

from aiclone_gateway.cluster.forwarding import RemoteStream
from aiclone_gateway.relay.streams import AgentOfflineError, FrameTooLargeError
from aiclone_wire import Chunk, End, Error, encode

WORK = {"model": "clone", "messages": [{"role": "user", "content": "hi"}], "stream": True}


async def _owner_alive(redis, keys, alive: bool = True) -> None:
    if alive:
        await redis.set(keys.alive("a"), "1", px=10_000)
    else:
        await redis.delete(keys.alive("a"))


async def _request_of(redis, keys) -> dict:
    """The owner's view: the newest entry on its request stream."""
    for _ in range(100):
        entries = await redis.xrange(keys.requests("a"))
        if entries:
            return entries[-1][1]
        await asyncio.sleep(0.01)
    raise AssertionError("no request reached the owner's stream")


async def _reply(redis, keys, request_id: str, seq: int, kind: str = "frame", **fields) -> None:
    await redis.xadd(keys.replies(request_id), {"seq": seq, "kind": kind, **fields})


def _stream(redis, keys) -> RemoteStream:
    return RemoteStream(redis, keys, "a", lambda: redis.exists(keys.alive("a")))


async def _opened(redis, keys, stream: RemoteStream) -> dict:
    opening = asyncio.create_task(stream.open(WORK, "web"))
    request = await _request_of(redis, keys)
    await _reply(redis, keys, request["id"], 0, "opened")
    await opening
    return request


@pytest.mark.process
async def test_frames_arrive_in_order_and_the_reply_stream_is_gone_after_the_end(redis, keys):
    await _owner_alive(redis, keys)
    stream = _stream(redis, keys)
    request = await _opened(redis, keys, stream)
    assert request["channel"] == "web" and request["kind"] == "chat"
    for seq, frame in enumerate(
        [Chunk(id="x", delta="Hel"), Chunk(id="x", delta="lo"), End(id="x", finish_reason="stop")], start=1
    ):
        await _reply(redis, keys, stream.id, seq, frame=encode(frame))
    frames = [frame async for frame in stream.frames(5)]
    assert [type(f).__name__ for f in frames] == ["Chunk", "Chunk", "End"]
    assert "".join(f.delta for f in frames if isinstance(f, Chunk)) == "Hello"
    assert stream.finished and not await redis.exists(keys.replies(stream.id))


@pytest.mark.process
async def test_a_missing_frame_ends_the_answer_with_an_error_not_a_silent_hole(redis, keys):
    await _owner_alive(redis, keys)
    stream = _stream(redis, keys)
    await _opened(redis, keys, stream)
    await _reply(redis, keys, stream.id, 1, frame=encode(Chunk(id="x", delta="a")))
    await _reply(redis, keys, stream.id, 3, frame=encode(Chunk(id="x", delta="c")))  # 2 never came
    frames = [frame async for frame in stream.frames(5)]
    assert isinstance(frames[-1], Error) and frames[-1].code == "relay_gap"
    assert [f.delta for f in frames if isinstance(f, Chunk)] == ["a"]


@pytest.mark.process
async def test_an_owner_that_dies_mid_answer_ends_it_with_an_explicit_error(redis, keys):
    await _owner_alive(redis, keys)
    stream = _stream(redis, keys)
    await _opened(redis, keys, stream)
    await _reply(redis, keys, stream.id, 1, frame=encode(Chunk(id="x", delta="a")))
    frames = stream.frames(idle_timeout_s=120)
    assert isinstance(await anext(frames), Chunk)
    await _owner_alive(redis, keys, alive=False)  # its liveness key lapsed: it is dead
    async with asyncio.timeout(10):  # an explicit error, not a wait for the 120 s idle timeout
        last = await anext(frames)
    assert isinstance(last, Error) and last.code == "agent_disconnected"


@pytest.mark.parametrize(
    ("kind", "raised"), [("offline", AgentOfflineError), ("too_large", FrameTooLargeError)]
)
@pytest.mark.process
async def test_the_owner_refusing_a_request_raises_as_the_local_hub_would(redis, keys, kind, raised):
    await _owner_alive(redis, keys)
    stream = _stream(redis, keys)
    opening = asyncio.create_task(stream.open(WORK, "api"))
    request = await _request_of(redis, keys)
    await _reply(
        redis,
        keys,
        request["id"],
        0,
        kind,
        **({"detail": "[5000000, 4194304]"} if kind == "too_large" else {}),
    )
    with pytest.raises(raised):
        await opening


@pytest.mark.process
async def test_a_request_to_a_dead_owner_is_offline_not_a_hang(redis, keys):
    stream = _stream(redis, keys)  # no liveness key: the owner is gone
    with pytest.raises(AgentOfflineError):
        async with asyncio.timeout(10):  # refused, not left waiting for an answer that never comes
            await stream.open(WORK, "api")


@pytest.mark.process
async def test_cancel_tells_the_owner_and_ends_the_stream(redis, keys):
    await _owner_alive(redis, keys)
    stream = _stream(redis, keys)
    await _opened(redis, keys, stream)
    stream.cancel()
    frames = [frame async for frame in stream.frames(5)]
    assert isinstance(frames[-1], End) and frames[-1].finish_reason == "cancelled"
    assert (await _request_of(redis, keys)) == {"cancel": stream.id}
