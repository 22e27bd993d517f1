"""Telegram by webhook: the gateway receives, the agent answers over the relay, and delivery moves
to long polling and back as the gateway goes and comes, without losing or repeating a message."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.bot_api_emulator import BotApiEmulator
from tests.support.fixtures.gateways import wait_online
from tests.support.fixtures.telegram import (
    BOT_ID,
    OFFLINE_REPLY,
    TOKEN,
    delivery_is,
    telegram_settled,
    telegram_state,
    until,
)


@pytest.mark.process
async def test_webhook_delivery_end_to_end(stack, stack_bot_api: BotApiEmulator, chat: int):
    gateway, agent = stack
    bot_api = stack_bot_api
    state = bot_api.bots[TOKEN]
    assert state.webhook_url == f"{gateway.url}/telegram/webhook/{BOT_ID}"
    assert len(state.webhook_secret) >= 32
    assert bot_api.calls_of("setWebhook", TOKEN)[-1].params["allowed_updates"] == ["message"]
    await until(lambda: telegram_state(agent), what="agent state")
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery on the agent")
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        earlier = {c["id"] for c in (await http.get("/api/conversations")).json()}  # other tests' chats

    bot_api.push_message(TOKEN, "/start", chat_id=chat, user_id=chat)
    await until(lambda: bot_api.messages_to(chat), what="the /start reply")
    assert "My Clone" in bot_api.messages_to(chat)[0]
    hello = bot_api.push_message(TOKEN, "Hello from Telegram!", chat_id=chat, user_id=chat)
    await until(lambda: len(bot_api.messages_to(chat)) >= 2, what="the answer")
    assert hello in state.delivered_by_webhook  # it really came through the gateway
    assert any(c.params.get("chat_id") == chat for c in bot_api.calls_of("sendChatAction", TOKEN))
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        conversations = [c for c in (await http.get("/api/conversations")).json() if c["id"] not in earlier]
    assert [c["channel"] for c in conversations] == ["telegram"]  # history lives on the PC

    # Telegram delivering the same update again is answered once
    update_id = state.updates[-1]["update_id"]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        headers = {"X-Telegram-Bot-Api-Secret-Token": state.webhook_secret}
        again = await http.post(f"/telegram/webhook/{BOT_ID}", json=state.updates[-1], headers=headers)
        assert again.status_code == 200
        forged = {"update_id": update_id + 1000, "message": {**state.updates[-1]["message"], "text": "forged"}}
        for bad in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            refused = await http.post(f"/telegram/webhook/{BOT_ID}", json=forged, headers=bad)
            assert refused.status_code == 403
        unknown = await http.post("/telegram/webhook/42", json=forged, headers=headers)
        assert unknown.status_code == 403
    await telegram_settled(gateway)  # the repeated delivery, had it been answered, is answered by now
    assert len(bot_api.messages_to(chat)) == 2

    # the token is stored sealed and never logged
    assert TOKEN.encode() not in (gateway.home / "gateway.sqlite3").read_bytes()
    assert TOKEN not in gateway.log.read_text()
    assert TOKEN not in agent.log.read_text()


@pytest.mark.process
async def test_gateway_down_moves_to_polling_and_back_without_loss_or_duplicates(stack, stack_bot_api: BotApiEmulator, chat: int):
    gateway, agent = stack
    bot_api = stack_bot_api
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery")
    sent = []

    async def say(text: str, expected_replies: int) -> None:
        sent.append(text)
        bot_api.push_message(TOKEN, text, chat_id=chat, user_id=chat)
        await until(lambda: len(bot_api.messages_to(chat)) >= expected_replies, what=f"the answer to {text!r}")

    await say("First, by webhook.", 1)
    await asyncio.to_thread(gateway.stop)
    await until(lambda: delivery_is(agent, "polling"), what="the switch to polling")
    await until(lambda: not bot_api.bots[TOKEN].webhook_url, what="deleteWebhook")
    await say("Second, by polling.", 2)
    await asyncio.to_thread(gateway.start)
    await until(lambda: bot_api.bots[TOKEN].webhook_url, what="setWebhook again")
    await until(lambda: delivery_is(agent, "webhook"), what="the switch back to webhook")
    await say("Third, by webhook again.", 3)
    await telegram_settled(gateway)
    assert len(bot_api.messages_to(chat)) == 3  # every message answered exactly once


@pytest.mark.process
async def test_pc_off_gets_a_polite_note_and_the_answer_later(stack, stack_bot_api: BotApiEmulator, chat: int):
    gateway, agent = stack
    bot_api = stack_bot_api
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery")
    await asyncio.to_thread(agent.stop)
    await wait_online(gateway, online=False)
    bot_api.push_message(TOKEN, "Are you there?", chat_id=chat, user_id=chat)
    await until(lambda: bot_api.messages_to(chat), what="the offline note")
    assert OFFLINE_REPLY in bot_api.messages_to(chat)[0]
    await asyncio.to_thread(agent.start)
    await until(lambda: len(bot_api.messages_to(chat)) >= 2, timeout=90, what="the queued answer")
    await telegram_settled(gateway)
    assert len(bot_api.messages_to(chat)) == 2
    assert OFFLINE_REPLY not in bot_api.messages_to(chat)[1]
