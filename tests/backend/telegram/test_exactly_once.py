"""Each Telegram update is answered once (at most once; see ``telegram/outbox.py``) through a
gateway killed between sendMessage and its bookkeeping, a redelivered update, and two replicas
receiving the same update."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from tests.support.bot_api_emulator import BotApiEmulator
from tests.support.fixtures.agents import AgentProcess, write_config
from tests.support.fixtures.gateways import ChatUser, create_agent_token, wait_online
from tests.support.fixtures.replicas import replica_process
from tests.support.fixtures.telegram import BOT_ID, CHAT, TOKEN, delivery_is, telegram_settled, until


@pytest.mark.process
async def test_a_gateway_killed_after_sending_the_answer_does_not_send_it_again(
    stack, stack_bot_api: BotApiEmulator, chat: int
):
    gateway, agent = stack
    bot_api = stack_bot_api
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery")
    killed: list[dict] = []

    def kill_the_gateway(message: dict) -> None:
        # The answer is out (the emulator stored it); the gateway dies before it hears so.
        if message["chat"]["id"] == chat and not killed:
            killed.append(message)
            gateway.stop(signal.SIGKILL)

    bot_api.on_sent = kill_the_gateway
    update_id = bot_api.push_message(TOKEN, "/help", chat_id=chat, user_id=chat)
    await until(lambda: killed, what="the answer's sendMessage")
    bot_api.on_sent = None
    await until(lambda: delivery_is(agent, "polling"), what="the agent to notice the gateway is gone")

    await asyncio.to_thread(gateway.start)
    await until(lambda: bot_api.bots[TOKEN].webhook_url, what="setWebhook again")
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery again")
    # Telegram delivers the update once more (as it does when it missed the 200).
    assert await bot_api.deliver_again(TOKEN, update_id) == 200
    await telegram_settled(gateway)  # the restarted gateway's drain and the redelivery are done
    assert bot_api.messages_to(chat) == [killed[0]["text"]]


@pytest.mark.process
async def test_two_replicas_answer_each_update_once(
    tmp_path: Path, model_path: Path, bot_api: BotApiEmulator, cluster_database: str, cluster_prefix: str
):
    a = replica_process(tmp_path, "a", cluster_database, cluster_prefix, telegram_api_url=bot_api.url)
    b = replica_process(tmp_path, "b", cluster_database, cluster_prefix, telegram_api_url=bot_api.url)
    agent = None
    try:
        await asyncio.to_thread(a.start)
        await asyncio.to_thread(b.start)
        owner = ChatUser(a, "owner@example.test")
        await owner.register()
        await owner.login()
        home = tmp_path / "agent"
        home.mkdir()
        config = write_config(
            home / "config.yaml",
            # long enough an answer that a drain on A starts while B's answer is being written
            model={"base_model_path": str(model_path), "max_tokens": 160, "temperature": 0.0, "n_threads": 1},
            gateway={"url": a.ws_url, "agent_token": await create_agent_token(owner)},
            messengers={
                "telegram": {
                    "enabled": True,
                    "api_url": bot_api.url,
                    "bots": [{"bot_id": BOT_ID, "token": TOKEN, "linked_clone_id": "my-clone"}],
                }
            },
        )
        agent = await asyncio.to_thread(AgentProcess(home, model_path, config_path=config).start)
        await wait_online(a)
        await wait_online(b)
        await until(lambda: delivery_is(agent, "webhook"), timeout=180, what="webhook delivery through A")
        state = bot_api.bots[TOKEN]

        # One update delivered to both replicas at once (Telegram retried; nginx chose the other).
        update_id = bot_api.push_message(TOKEN, "/help", chat_id=CHAT)
        (update,) = [u for u in state.updates if u["update_id"] == update_id]
        headers = {"X-Telegram-Bot-Api-Secret-Token": state.webhook_secret}
        async with httpx.AsyncClient(timeout=30) as http:
            statuses = await asyncio.gather(
                bot_api.deliver_again(TOKEN, update_id),
                http.post(f"{b.url}/telegram/webhook/{BOT_ID}", json=update, headers=headers),
            )
        assert statuses[0] == 200 and statuses[1].status_code == 200
        await telegram_settled(a)
        await telegram_settled(b)
        assert len(bot_api.messages_to(CHAT)) == 1

        # B answers a question through A; meanwhile the agent hands its bots over again, and A
        # drains the stored questions: the one B is answering is B's alone.
        other_chat = CHAT + 1
        state.webhook_url = f"{b.url}/telegram/webhook/{BOT_ID}"  # Telegram's next delivery reaches B
        bot_api.push_message(TOKEN, "Tell me about bridges.", chat_id=other_chat)

        def b_is_answering() -> bool:
            return any(c.params["chat_id"] == other_chat for c in bot_api.calls_of("sendChatAction", TOKEN))

        async with httpx.AsyncClient(timeout=30) as http:
            await until(
                lambda: b_is_answering() or bot_api.messages_to(other_chat), what="B to start its answer"
            )
            assert not bot_api.messages_to(other_chat), "answered before a drain could race it"
            shown = (await http.get(f"{agent.url}/api/messengers/telegram")).json()
            again = await http.put(f"{agent.url}/api/messengers/telegram", json=shown)
            assert again.status_code == 200, again.text
        await until(lambda: a.url in bot_api.bots[TOKEN].webhook_url, what="A to take the bot again")
        await until(lambda: bot_api.messages_to(other_chat), timeout=120, what="the answer")
        await telegram_settled(a)
        await telegram_settled(b)
        assert len(bot_api.messages_to(other_chat)) == 1
        await owner.close()
    finally:
        if agent is not None:
            await asyncio.to_thread(agent.stop)
        await asyncio.to_thread(a.stop)
        await asyncio.to_thread(b.stop)
