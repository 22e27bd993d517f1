"""The Telegram confused deputy: a plain user's API key must not be able to act as Telegram.

Confirmed before the fix: the gateway relayed the whole ``/v1`` body, and the agent ran any body
saying ``"kind": "telegram"`` as a Telegram message, trusting its bot, chat and user ids. With a
user's API key, ``{"kind": "telegram", "bot_id": ..., "chat_id": 4242, "user_id": 111, ...}``
passed the bot's allow-list, wrote into chat 4242's conversation on the owner's PC and read its
earlier reply back. Now ``/v1`` relays the validated OpenAI fields only, Telegram work travels in
its own ``telegram_request`` frame that only the webhook code makes, and the agent answers those
for its own configured bots only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets

from aiclone_wire import (
    PROTOCOL_VERSION,
    Error,
    Hello,
    Request,
    TelegramMessage,
    TelegramRequest,
    decode,
    encode,
)
from tests.support.bot_api_emulator import BotApiEmulator
from tests.support.fixtures.gateways import sign_up
from tests.support.fixtures.telegram import (
    BOT_ID,
    TOKEN,
    delivery_is,
    until,
)

VICTIM_CHAT = 4242


async def _conversations(agent) -> list[dict]:
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        return (await http.get("/api/conversations")).json()


@pytest.mark.process
async def test_api_key_cannot_speak_as_telegram(stack, stack_bot_api: BotApiEmulator, chat: int):
    gateway, agent = stack
    bot_api = stack_bot_api
    victim_chat = chat
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery")
    earlier = {c["id"] for c in await _conversations(agent)}  # other tests' chats on the shared agent
    bot_api.push_message(TOKEN, "My secret is 7781.", chat_id=victim_chat, user_id=victim_chat)
    await until(lambda: bot_api.messages_to(victim_chat), what="the victim's answer")
    victim_reply = bot_api.messages_to(victim_chat)[0]
    before = await _conversations(agent)
    assert [c["channel"] for c in before if c["id"] not in earlier] == ["telegram"]

    (attacker,) = await sign_up(gateway, 1)
    key = (await attacker.http.post("/api/keys", json={"name": "x"})).json()["key"]
    attack = {
        "model": "my-clone",
        "messages": [{"role": "user", "content": "What did you say last?"}],
        "kind": "telegram",
        "bot_id": int(BOT_ID),
        "chat_id": victim_chat,
        "user_id": 111,
        "text": "/start",
    }
    async with httpx.AsyncClient(base_url=gateway.url, timeout=120) as http:
        response = await http.post(
            "/v1/chat/completions", json=attack, headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "kind" in message and victim_reply not in response.text

    # nothing happened in Telegram or on the PC (refused before any relay: nothing is under way)
    assert bot_api.messages_to(victim_chat) == [victim_reply]
    after = await _conversations(agent)
    assert [(c["id"], c["channel"]) for c in after] == [(c["id"], c["channel"]) for c in before]
    await attacker.close()


class FakeGateway:
    """A WebSocket server that speaks the gateway's side of the link, so a test can send the agent
    frames the real gateway never would (the agent is the thing under test)."""

    def __init__(self) -> None:
        self.linked: asyncio.Queue = asyncio.Queue()
        self.server = None

    async def _handler(self, ws) -> None:
        decode(await ws.recv())  # the agent's hello
        await ws.send(encode(Hello(role="gateway")))
        await self.linked.put(ws)
        await ws.wait_closed()

    async def __aenter__(self) -> FakeGateway:
        self.server = await websockets.serve(self._handler, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        port = self.server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"


async def _answer(ws, request_id: str) -> Error:
    async with asyncio.timeout(60):
        while True:
            frame = decode(await ws.recv())
            if getattr(frame, "id", None) == request_id:
                assert isinstance(frame, Error), frame
                return frame


@pytest.fixture
async def fake_gateway(agent) -> AsyncIterator[tuple]:
    async with FakeGateway() as gateway:
        response = await agent.client.put("/api/gateway", json={"url": gateway.url, "agent_token": "t" * 32})
        assert response.status_code == 200, response.text
        ws = await asyncio.wait_for(gateway.linked.get(), 30)
        yield agent, ws
        await agent.runtime.gateway.stop()


async def test_agent_refuses_telegram_work_for_bots_it_does_not_have(fake_gateway):
    agent, ws = fake_gateway
    assert PROTOCOL_VERSION >= 2
    frame = TelegramRequest(
        id="t1", message=TelegramMessage(bot_id=5550001, chat_id=VICTIM_CHAT, user_id=111, text="hi")
    )
    await ws.send(encode(frame))
    error = await _answer(ws, "t1")
    assert error.code == "unknown_bot" and error.status == 404
    assert (await agent.client.get("/api/conversations")).json() == []


async def test_agent_treats_a_telegram_kind_body_as_an_invalid_openai_request(fake_gateway):
    agent, ws = fake_gateway
    body = {
        "model": "my-clone",
        "messages": [{"role": "user", "content": "hi"}],
        "kind": "telegram",
        "bot_id": 1,
        "chat_id": VICTIM_CHAT,
        "user_id": 111,
        "text": "/start",
    }
    await ws.send(encode(Request(id="r1", body=body)))
    error = await _answer(ws, "r1")
    assert error.code == "invalid_request" and error.status == 400 and "kind" in error.message
    assert (await agent.client.get("/api/conversations")).json() == []
