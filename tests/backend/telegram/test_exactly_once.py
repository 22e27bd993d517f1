"""Each Telegram update is answered once (at most once; see ``telegram/outbox.py``) through a
gateway killed between sendMessage and its bookkeeping, and a redelivered update."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.support.bot_api_emulator import BotApiEmulator
from tests.support.fixtures.telegram import CHAT, TOKEN, delivery_is, telegram_settled, until


@pytest.mark.process
async def test_a_gateway_killed_after_sending_the_answer_does_not_send_it_again(
    stack, bot_api: BotApiEmulator
):
    gateway, agent = stack
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery")
    killed: list[dict] = []

    def kill_the_gateway(message: dict) -> None:
        # The answer is out (the emulator stored it); the gateway dies before it hears so.
        if message["chat"]["id"] == CHAT and not killed:
            killed.append(message)
            gateway.stop(signal.SIGKILL)

    bot_api.on_sent = kill_the_gateway
    update_id = bot_api.push_message(TOKEN, "/help", chat_id=CHAT)
    await until(lambda: killed, what="the answer's sendMessage")
    bot_api.on_sent = None
    await until(lambda: delivery_is(agent, "polling"), what="the agent to notice the gateway is gone")

    await asyncio.to_thread(gateway.start)
    await until(lambda: bot_api.bots[TOKEN].webhook_url, what="setWebhook again")
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery again")
    # Telegram delivers the update once more (as it does when it missed the 200).
    assert await bot_api.deliver_again(TOKEN, update_id) == 200
    await telegram_settled(gateway)  # the restarted gateway's drain and the redelivery are done
    assert bot_api.messages_to(CHAT) == [killed[0]["text"]]
