"""Telegram by webhook: the gateway receives, the agent answers over the relay, and delivery moves
to long polling and back as the gateway goes and comes, without losing or repeating a message."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import METRICS_HEADERS, ChatUser, GatewayProcess, create_agent_token, wait_online
from tests.local_inference.conftest import AgentProcess, write_config
from tests.local_inference.telegram.conftest import TOKEN, bot_api  # noqa: F401 - the emulator fixture
from tests.support.bot_api_emulator import BotApiEmulator

CHAT = 777
BOT_ID = TOKEN.split(":")[0]
OFFLINE_REPLY = "I'm offline right now"


async def telegram_state(agent: AgentProcess) -> dict:
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        return (await http.get("/api/messengers/telegram")).json()


async def until(predicate, timeout: float = 60, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def telegram_settled(gateway: GatewayProcess, timeout: float = 60) -> None:
    """Wait until the gateway has no Telegram work under way (no update being answered, no
    drain): whatever it was going to send has been sent, so counting the replies is final."""

    async def idle() -> bool:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
            metrics = (await http.get("/metrics", headers=METRICS_HEADERS)).text
        return "aiclone_gateway_telegram_in_progress 0.0" in metrics

    await until(idle, timeout=timeout, what="the gateway's Telegram work to settle")


# Processes start and stop on a worker thread: the Bot API emulator lives on this event loop
# and must keep answering them meanwhile.


async def start_gateway(home: Path, api_url: str) -> GatewayProcess:
    gateway = GatewayProcess(home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}")
    gateway.env["AICLONE_GATEWAY_PUBLIC_URL"] = gateway.url
    gateway.env["AICLONE_GATEWAY_TELEGRAM_API_URL"] = api_url
    return await asyncio.to_thread(gateway.start)


async def start_agent(home: Path, model_path: Path, gateway: GatewayProcess, token: str, api_url: str) -> AgentProcess:
    config = write_config(
        home / "config.yaml",
        model={"base_model_path": str(model_path), "max_tokens": 12, "n_threads": 1},
        gateway={"url": gateway.ws_url, "agent_token": token},
        messengers={"telegram": {"enabled": True, "api_url": api_url,
                                 "bots": [{"bot_id": BOT_ID, "token": TOKEN, "linked_clone_id": "my-clone"}]}},
    )
    return await asyncio.to_thread(AgentProcess(home, model_path, config_path=config).start)


@pytest.fixture
async def stack(tmp_path: Path, model_path: Path, bot_api: BotApiEmulator):  # noqa: F811
    gateway = await start_gateway(tmp_path, bot_api.url)
    owner = ChatUser(gateway, "owner@example.test")
    await owner.register()
    await owner.login()
    agent_home = tmp_path / "agent"
    agent_home.mkdir()
    agent = await start_agent(agent_home, model_path, gateway, await create_agent_token(owner), bot_api.url)
    await wait_online(gateway)
    await until(lambda: bot_api.bots[TOKEN].webhook_url, what="setWebhook")
    yield gateway, agent
    await owner.close()
    await asyncio.to_thread(agent.stop)
    await asyncio.to_thread(gateway.stop)


@pytest.mark.process
async def test_webhook_delivery_end_to_end(stack, bot_api: BotApiEmulator):  # noqa: F811
    gateway, agent = stack
    state = bot_api.bots[TOKEN]
    assert state.webhook_url == f"{gateway.url}/telegram/webhook/{BOT_ID}"
    assert len(state.webhook_secret) >= 32
    assert bot_api.calls_of("setWebhook", TOKEN)[-1].params["allowed_updates"] == ["message"]
    await until(lambda: telegram_state(agent), what="agent state")
    await until(lambda: _delivery_is(agent, "webhook"), what="webhook delivery on the agent")

    bot_api.push_message(TOKEN, "/start", chat_id=CHAT)
    await until(lambda: bot_api.messages_to(CHAT), what="the /start reply")
    assert "My Clone" in bot_api.messages_to(CHAT)[0]
    bot_api.push_message(TOKEN, "Hello from Telegram!", chat_id=CHAT)
    await until(lambda: len(bot_api.messages_to(CHAT)) >= 2, what="the answer")
    assert state.delivered_by_webhook  # it really came through the gateway
    assert any(c.params.get("chat_id") == CHAT for c in bot_api.calls_of("sendChatAction", TOKEN))
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        conversations = (await http.get("/api/conversations")).json()
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
    assert len(bot_api.messages_to(CHAT)) == 2

    # the token is stored sealed and never logged
    assert TOKEN.encode() not in (gateway.home / "gateway.sqlite3").read_bytes()
    assert TOKEN not in gateway.log.read_text()
    assert TOKEN not in agent.log.read_text()


@pytest.mark.process
async def test_gateway_down_moves_to_polling_and_back_without_loss_or_duplicates(stack, bot_api: BotApiEmulator):  # noqa: F811
    gateway, agent = stack
    await until(lambda: _delivery_is(agent, "webhook"), what="webhook delivery")
    sent = []

    async def say(text: str, expected_replies: int) -> None:
        sent.append(text)
        bot_api.push_message(TOKEN, text, chat_id=CHAT)
        await until(lambda: len(bot_api.messages_to(CHAT)) >= expected_replies, what=f"the answer to {text!r}")

    await say("First, by webhook.", 1)
    await asyncio.to_thread(gateway.stop)
    await until(lambda: _delivery_is(agent, "polling"), what="the switch to polling")
    await until(lambda: not bot_api.bots[TOKEN].webhook_url, what="deleteWebhook")
    await say("Second, by polling.", 2)
    await asyncio.to_thread(gateway.start)
    await until(lambda: bot_api.bots[TOKEN].webhook_url, what="setWebhook again")
    await until(lambda: _delivery_is(agent, "webhook"), what="the switch back to webhook")
    await say("Third, by webhook again.", 3)
    await telegram_settled(gateway)
    assert len(bot_api.messages_to(CHAT)) == 3  # every message answered exactly once


@pytest.mark.process
async def test_pc_off_gets_a_polite_note_and_the_answer_later(stack, bot_api: BotApiEmulator, model_path: Path):  # noqa: F811
    gateway, agent = stack
    await until(lambda: _delivery_is(agent, "webhook"), what="webhook delivery")
    await asyncio.to_thread(agent.stop)
    await wait_online(gateway, online=False)
    bot_api.push_message(TOKEN, "Are you there?", chat_id=CHAT)
    await until(lambda: bot_api.messages_to(CHAT), what="the offline note")
    assert OFFLINE_REPLY in bot_api.messages_to(CHAT)[0]
    await asyncio.to_thread(agent.start)
    await until(lambda: len(bot_api.messages_to(CHAT)) >= 2, timeout=90, what="the queued answer")
    await telegram_settled(gateway)
    assert len(bot_api.messages_to(CHAT)) == 2
    assert OFFLINE_REPLY not in bot_api.messages_to(CHAT)[1]


async def _delivery_is(agent: AgentProcess, mode: str) -> bool:
    state = await telegram_state(agent)
    return state["delivery"] == mode and state["status"] == "running"
