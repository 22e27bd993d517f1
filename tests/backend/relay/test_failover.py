"""The stream that moves a request to another agent (here or on another replica) when its agent
fails it before the first chunk: what the client sees in each case. The agents' answers are
scripted frames; the real-process case is
``tests/backend/cluster/test_agents_across_replicas.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from aiclone_gateway.relay.failover import FailoverStream
from aiclone_gateway.relay.streams import AgentOfflineError, ReplyFrame, ReplyStream
from aiclone_wire import Chunk, End, Error

LOST = Error(id="r", code="agent_disconnected", message="the link to the clone was lost", status=503)


class Scripted:
    """One agent's answer: its frames in order."""

    def __init__(self, frames: list[ReplyFrame]) -> None:
        self.id = "r"
        self.script = frames
        self.finished = False
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    async def frames(self, idle_timeout_s: float) -> AsyncIterator[ReplyFrame]:
        for frame in self.script:
            yield frame
        self.finished = True


def agents(answers: dict[str, list[ReplyFrame] | None]):
    """``open_on`` and ``choose_next`` over agents answering as scripted (None: cannot take it),
    and the order they were opened in."""
    opened: list[str] = []

    @asynccontextmanager
    async def open_on(agent_id: str) -> AsyncIterator[ReplyStream]:
        opened.append(agent_id)
        script = answers[agent_id]
        if script is None:
            raise AgentOfflineError
        yield Scripted(script)

    def choose_next(tried: set[str]) -> str | None:
        return next((agent_id for agent_id in answers if agent_id not in tried), None)

    return open_on, choose_next, opened


async def read(answers: dict[str, list[ReplyFrame] | None], first: str) -> tuple[list[ReplyFrame], list[str]]:
    open_on, choose_next, opened = agents(answers)
    async with AsyncExitStack() as stack:
        stream = FailoverStream(stack, open_on, choose_next)
        await stream.start(first)
        return [frame async for frame in stream.frames(5)], opened


def text(frames: list[ReplyFrame]) -> str:
    return "".join(frame.delta for frame in frames if isinstance(frame, Chunk))


async def test_an_agent_lost_before_the_first_chunk_is_replaced_unseen():
    frames, opened = await read(
        {"a": [LOST], "b": [Chunk(id="r", delta="Hello"), End(id="r", finish_reason="stop")]}, "a"
    )
    assert opened == ["a", "b"]
    assert text(frames) == "Hello" and not any(isinstance(frame, Error) for frame in frames)


async def test_an_agent_that_cannot_take_it_is_skipped_at_the_start():
    frames, opened = await read(
        {"a": None, "b": [Chunk(id="r", delta="Hi"), End(id="r", finish_reason="stop")]}, "a"
    )
    assert opened == ["a", "b"] and text(frames) == "Hi"


async def test_a_stream_cut_after_its_first_chunk_ends_with_the_error_and_no_other_agent():
    frames, opened = await read(
        {"a": [Chunk(id="r", delta="Hal"), LOST], "b": [Chunk(id="r", delta="x")]}, "a"
    )
    assert opened == ["a"]
    assert text(frames) == "Hal" and frames[-1] == LOST


async def test_each_agent_is_tried_once_then_the_loss_is_said():
    frames, opened = await read({"a": [LOST], "b": [LOST]}, "a")
    assert opened == ["a", "b"] and frames == [LOST]


async def test_no_agent_able_to_take_it_is_offline():
    open_on, choose_next, _ = agents({"a": None, "b": None})
    async with AsyncExitStack() as stack:
        with pytest.raises(AgentOfflineError):
            await FailoverStream(stack, open_on, choose_next).start("a")


async def test_other_errors_are_the_answer_not_a_reason_to_move():
    refused = Error(id="r", code="context_length_exceeded", message="too long", status=400)
    frames, opened = await read({"a": [refused], "b": [Chunk(id="r", delta="x")]}, "a")
    assert opened == ["a"] and frames == [refused]
