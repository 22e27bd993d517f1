"""Memory over the gateway link: a relayed request uses the person the gateway put on the frame
(never a body field; none, no memory) and its ``end`` lists what was recalled; ``memory_request``
frames list, erase and switch a person's own memories, answered by a ``memory_result`` or an
``error`` with the same id, dispatched by the link session like every other frame."""

from __future__ import annotations

import asyncio

from aiclone_agent.gateway.requests import CreditWindow, run_memory_request, run_request
from aiclone_agent.gateway.session import LinkSession, RunningRequests
from aiclone_wire import End, Error, MemoryRequest, MemoryResult, Request, decode, encode
from aiclone_wire.paths import PathHealth

FACT = "Remember that my dog's name is Barnaby."
QUESTION = "What is my dog's name?"


async def _relay(agent, text: str, person: str | None, channel: str = "web") -> End:
    model = (await agent.client.get("/v1/models")).json()["data"][0]["id"]
    # a body field naming someone else is not whose memory this is
    body = {"model": model, "messages": [{"role": "user", "content": text}], "user": "user:mallory"}
    frames: list = []
    await run_request(
        agent.runtime.openai,
        Request(id=f"r-{len(text)}", body=body, channel=channel, person=person),
        CreditWindow(64),
        frames.append,
    )
    assert isinstance(frames[-1], End), frames[-1]
    return frames[-1]


async def _ask(agent, person: str, **fields) -> MemoryResult | Error:
    frames: list = []
    await run_memory_request(
        agent.runtime.chat.memory, MemoryRequest(id="m1", person=person, **fields), frames.append
    )
    (frame,) = frames
    assert frame.id == "m1"
    return frame


async def test_a_relayed_request_remembers_and_recalls_for_the_gateways_person_only(agent):
    await _relay(agent, FACT, "user:alice")
    (kept,) = (await _ask(agent, "user:alice", op="list")).memories
    assert kept.channel == "web" and kept.person is None and "Barnaby" in kept.text

    end = await _relay(agent, QUESTION, "user:alice")
    assert [m.id for m in end.memories] == [kept.id]
    assert (await _relay(agent, QUESTION, "user:bob")).memories == []
    assert (await _relay(agent, QUESTION, None)).memories == []  # no person: no memory at all
    assert (await _relay(agent, FACT, "user:mallory", channel="api")).memories == []  # api: off
    persons = dict(await agent.runtime.chat.memory.persons())
    assert persons == {"user:alice": 2, "user:bob": 1}


async def test_memory_request_frames_list_erase_and_switch_a_persons_own(agent):
    await _relay(agent, FACT, "user:alice")
    await _relay(agent, "I play the oboe.", "user:bob")
    (alices,) = (await _ask(agent, "user:alice", op="list")).memories
    assert (await _ask(agent, "user:alice", op="list", query="oboe")).memories == []

    refused = await _ask(agent, "user:bob", op="delete", memory_id=alices.id)  # not bob's
    assert isinstance(refused, Error) and refused.code == "memory_not_found" and refused.status == 404
    unnamed = await _ask(agent, "user:bob", op="delete")
    assert isinstance(unnamed, Error) and unnamed.status == 400

    switched = await _ask(agent, "user:alice", op="settings", enabled=False)
    assert isinstance(switched, MemoryResult) and switched.enabled is False
    assert (await _ask(agent, "user:alice", op="settings")).enabled is False
    assert (await _relay(agent, QUESTION, "user:alice")).memories == []  # switched off: no recall
    assert len((await _ask(agent, "user:alice", op="list")).memories) == 1  # and nothing written
    assert (await _ask(agent, "user:bob", op="settings")).enabled is True

    deleted = await _ask(agent, "user:alice", op="delete", memory_id=alices.id)
    assert isinstance(deleted, MemoryResult) and deleted.deleted == 1 and deleted.enabled is False
    assert (await _ask(agent, "user:bob", op="delete_all")).deleted == 1
    assert (await _ask(agent, "user:bob", op="list")).memories == []


class _GatewaySocket:
    """The gateway's end of a link: sends ``frames``, then stays open until ``answers`` came back."""

    def __init__(self, frames: list, answers: int) -> None:
        self.frames = frames
        self.answers = answers
        self.sent: list = []
        self.done = asyncio.Event()

    def __aiter__(self):
        return self._incoming()

    async def _incoming(self):
        for frame in self.frames:
            yield encode(frame)
        await self.done.wait()

    async def send(self, text: str) -> None:
        frame = decode(text)
        if isinstance(frame, (MemoryResult, Error)):
            self.sent.append(frame)
            if len(self.sent) == self.answers:
                self.done.set()

    async def close(self) -> None:
        self.done.set()


async def test_the_link_session_answers_memory_requests(agent):
    await _relay(agent, FACT, "user:alice")
    socket = _GatewaySocket(
        [
            MemoryRequest(id="a", person="user:alice", op="list"),
            MemoryRequest(id="b", person="user:alice", op="delete", memory_id="m_missing"),
        ],
        answers=2,
    )
    session = LinkSession(
        socket,
        agent.runtime.openai,
        agent.runtime.memory,
        RunningRequests(),
        PathHealth("relay"),
        ping_interval_s=30,
        silence_timeout_s=60,
    )
    await asyncio.wait_for(session.serve(), 30)
    answers = {frame.id: frame for frame in socket.sent}
    assert isinstance(answers["a"], MemoryResult) and "Barnaby" in answers["a"].memories[0].text
    assert isinstance(answers["b"], Error) and answers["b"].code == "memory_not_found"
