"""Chat volume: per-user limits, fair store-and-forward, and questions that keep failing
(a real gateway process; the agent is a scripted link speaking the wire protocol, so the test
decides when it answers, stalls or drops).

Found before the fixes: with the agent offline one user queued 300 messages of 32,000 characters
in 1.3 s (300 conversations), and everyone else's questions waited behind them, first in first
out; a queued question whose answer kept dropping the link was retried on every reconnect forever.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import websockets

from aiclone_wire import PROTOCOL_VERSION, End, Hello, Request, decode, encode
from tests.support.fixtures.gateways import ChatUser, GatewayProcess, create_agent_token, sign_up, wait_online

LIMITS = {
    "chat_messages_per_minute": 8,
    "chat_max_concurrent_per_user": 2,
    "chat_max_queued_per_user": 3,
    "chat_max_conversations_per_user": 4,
    "chat_max_messages_per_conversation": 6,
    "chat_max_queued_attempts": 2,
}


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[tuple[GatewayProcess, ChatUser, list[ChatUser]]]:
    gateway = GatewayProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", **LIMITS)
    await asyncio.to_thread(gateway.start)
    owner, *users = await sign_up(gateway, 3)
    yield gateway, owner, users
    for user in (owner, *users):
        await user.close()
    await asyncio.to_thread(gateway.stop)


async def _link(gateway: GatewayProcess, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(
        f"{gateway.ws_url}/agent/ws", additional_headers={"Authorization": f"Bearer {token}"}
    )
    hello = Hello(role="agent", protocol_version=PROTOCOL_VERSION, clone_id="s", clone_name="S", models=["s"])
    await ws.send(encode(hello))
    decode(await ws.recv())
    return ws


async def _next_request(ws: websockets.ClientConnection, timeout: float = 30) -> Request:
    async with asyncio.timeout(timeout):
        while True:
            frame = decode(await ws.recv())
            if isinstance(frame, Request):
                return frame


async def _ask(user: ChatUser, text: str, conversation_id: str | None = None) -> dict:
    async with user.socket() as ws:
        return (await user.ask(ws, text, conversation_id=conversation_id))[-1]


@pytest.mark.process
async def test_one_user_cannot_flood_the_offline_queue(limited):
    _, _, (flooder, other) = limited
    answers = [await _ask(flooder, f"question {i}") for i in range(4)]
    assert [a["type"] for a in answers] == ["queued", "queued", "queued", "error"]
    assert answers[-1]["code"] == "queue_full" and "3 questions waiting" in answers[-1]["message"]
    assert (await _ask(other, "my turn"))["type"] == "queued"  # the cap is per user


@pytest.mark.process
async def test_messages_per_minute_are_limited_per_user(limited):
    _, _, (talker, other) = limited
    async with talker.socket() as ws:
        answers = []
        for i in range(9):
            conversation = answers[0]["conversation_id"] if answers else None
            answers.append((await talker.ask(ws, f"m{i}", conversation_id=conversation))[-1])
    refused = [a for a in answers if a["type"] == "error"]
    assert [a["code"] for a in refused][-1] == "rate_limited"
    assert 1 <= refused[-1]["retry_after"] <= 60
    assert (await _ask(other, "hello")).get("code") != "rate_limited"  # queued or answered, not refused


@pytest.mark.process
async def test_conversations_and_history_are_capped(limited):
    gateway, owner, (user, _) = limited
    agent = await _link(gateway, await create_agent_token(owner))
    await wait_online(gateway)

    async def answer_all() -> None:
        while True:
            request = await _next_request(agent, timeout=3600)
            await agent.send(encode(End(id=request.id, finish_reason="stop")))

    answering = asyncio.create_task(answer_all())
    try:
        async with user.socket() as ws:
            conversation = (await user.ask(ws, "a conversation"))[0]["conversation_id"]
        turns = [await _ask(user, f"turn {i}", conversation_id=conversation) for i in range(3)]
        assert [t["type"] for t in turns] == ["end", "end", "error"]
        assert turns[-1]["code"] == "conversation_full" and "start a new one" in turns[-1]["message"]
        made = [await _ask(user, f"new {i}") for i in range(4)]
        assert [m["type"] for m in made] == ["end", "end", "end", "error"]
        assert made[-1]["code"] == "too_many_conversations"
        assert len((await user.http.get("/api/conversations")).json()) == 4
    finally:
        answering.cancel()
        await agent.close()


@pytest.mark.process
async def test_concurrent_questions_per_user_are_capped(limited):
    gateway, owner, (user, other) = limited
    agent = await _link(gateway, await create_agent_token(owner))  # it never answers
    await wait_online(gateway)
    async with user.socket() as ws:
        for i in range(3):
            await ws.send(json.dumps({"type": "message", "text": f"q{i}"}))
        frames = []
        async with asyncio.timeout(30):
            while len([f for f in frames if f["type"] in ("accepted", "error")]) < 3:
                frames.append(json.loads(await ws.recv()))
    kinds = sorted(f.get("code", f["type"]) for f in frames if f["type"] in ("accepted", "error"))
    assert kinds == ["accepted", "accepted", "too_many_requests"]
    async with other.socket() as ws:  # someone else is not held back by it
        await ws.send(json.dumps({"type": "message", "text": "mine"}))
        async with asyncio.timeout(30):
            assert json.loads(await ws.recv())["type"] == "accepted"
    await agent.close()


@pytest.mark.process
async def test_the_drain_takes_users_in_turn(limited):
    gateway, owner, (heavy, light) = limited
    for i in range(3):
        assert (await _ask(heavy, f"heavy {i}"))["type"] == "queued"
    assert (await _ask(light, "light 0"))["type"] == "queued"
    agent = await _link(gateway, await create_agent_token(owner))
    order = []
    for _ in range(4):
        request = await _next_request(agent)
        order.append(request.body["messages"][-1]["content"])
        await agent.send(encode(End(id=request.id, finish_reason="stop")))
    assert order == ["heavy 0", "light 0", "heavy 1", "heavy 2"]
    await agent.close()


@pytest.mark.process
async def test_a_queued_question_that_keeps_failing_ends_as_failed(limited):
    gateway, owner, (user, _) = limited
    queued = await _ask(user, "this one breaks the agent")
    assert queued["type"] == "queued"
    token = await create_agent_token(owner)
    for _ in range(LIMITS["chat_max_queued_attempts"]):
        agent = await _link(gateway, token)
        await _next_request(agent)
        await agent.close()  # the link drops mid-answer, every time
        await wait_online(gateway, online=False)
    agent = await _link(gateway, token)
    await wait_online(gateway)
    with pytest.raises(TimeoutError):
        await _next_request(agent, timeout=2)  # not sent again (inside the 3 s heartbeat timeout)
    conversation = (await user.http.get(f"/api/conversations/{queued['conversation_id']}")).json()
    answer = conversation["messages"][-1]
    assert answer["status"] == "error" and "failed to answer this question 2 times" in answer["content"]
    await agent.close()
