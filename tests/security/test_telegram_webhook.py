"""The Telegram webhook and the gateway's Bot API calls, against real processes.

Found before the fixes: the gateway called whatever Bot API address an agent sent and put the
upstream error text in its reply to the agent (an agent token could make the gateway fetch any URL
and read part of the answer: SSRF); and an update was acknowledged before its question was
stored, so a gateway killed at that moment lost the message for good.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from aiohttp import web

from aiclone_wire import (
    PROTOCOL_VERSION,
    Hello,
    Ping,
    Pong,
    TelegramBot,
    TelegramBots,
    TelegramStatus,
    decode,
    encode,
)
from tests.support.bot_api_emulator import BotApiEmulator
from tests.support.fixtures.gateways import GatewayProcess, create_agent_token, sign_up, wait_online
from tests.support.fixtures.telegram import (
    BOT_ID,
    TOKEN,
    delivery_is,
    telegram_settled,
    until,
)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CANARY_TEXT = "canary-internal-service-says-7f3a"


class Canary:
    """An internal HTTP service an attacker would like the gateway to call; counts every hit."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _any(self, request: web.Request) -> web.Response:
        self.hits.append(request.path)
        return web.json_response({"ok": False, "error_code": 400, "description": CANARY_TEXT}, status=400)

    async def __aenter__(self) -> Canary:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    async with Canary() as service:
        yield service


@pytest.mark.process
async def test_an_agent_cannot_aim_the_gateway_at_another_server(tmp_path: Path, canary: Canary):
    """The agent names the canary as its Bot API; the gateway keeps to its own setting (here an
    address where nothing listens) and tells the agent nothing the upstream said."""
    home = tmp_path / "gw"
    home.mkdir()
    gateway = GatewayProcess(home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}")
    gateway.env["AICLONE_GATEWAY_TELEGRAM_API_URL"] = "http://127.0.0.1:9"
    await asyncio.to_thread(gateway.start)
    try:
        (owner,) = await sign_up(gateway, 1)
        token = await create_agent_token(owner)
        async with websockets.connect(
            f"{gateway.ws_url}/agent/ws", additional_headers={"Authorization": f"Bearer {token}"}
        ) as ws:
            hello = Hello(
                role="agent", protocol_version=PROTOCOL_VERSION, clone_id="c", clone_name="C", models=["c"]
            )
            await ws.send(encode(hello))
            decode(await ws.recv())
            bots = [TelegramBot(bot_id="123456", token="123456:AAE" + "x" * 32)]
            await ws.send(encode(TelegramBots(enabled=True, api_url=canary.url, bots=bots)))
            async with asyncio.timeout(30):  # answering the heartbeat meanwhile, as an agent does
                while not isinstance(status := decode(await ws.recv()), TelegramStatus):
                    if isinstance(status, Ping):
                        await ws.send(encode(Pong(sent_at=status.sent_at)))
        (state,) = status.bots
        assert not state.ok
        assert CANARY_TEXT not in (state.error or "") and "127.0.0.1" not in (state.error or "")
        assert canary.hits == []
        await owner.close()
    finally:
        await asyncio.to_thread(gateway.stop)


@pytest.mark.process
async def test_missing_or_wrong_secret_is_refused_before_the_body_is_parsed(
    stack, stack_bot_api: BotApiEmulator
):
    gateway, _ = stack
    bot_api = stack_bot_api
    secret = bot_api.bots[TOKEN].webhook_secret
    wrong = [None, "", "x", secret[:-1], secret + "x", secret.upper() if secret != secret.upper() else "y"]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        for presented in wrong:
            headers = {"Content-Type": "application/json"}
            if presented is not None:
                headers[SECRET_HEADER] = presented
            refused = await http.post(f"/telegram/webhook/{BOT_ID}", content=b"{not json", headers=headers)
            assert refused.status_code == 403, presented
            assert refused.json()["error"]["code"] == "forbidden"
        # the right secret with the same broken body reaches the parser
        parsed = await http.post(
            f"/telegram/webhook/{BOT_ID}", content=b"{not json", headers={SECRET_HEADER: secret}
        )
        assert parsed.status_code == 400


@pytest.mark.process
async def test_replayed_update_ids_are_ignored(stack, stack_bot_api: BotApiEmulator, chat: int):
    gateway, agent = stack
    bot_api = stack_bot_api
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery")
    bot_api.push_message(TOKEN, "Hello once.", chat_id=chat, user_id=chat)
    await until(lambda: bot_api.messages_to(chat), what="the answer")
    state = bot_api.bots[TOKEN]
    update = state.updates[-1]
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        for _ in range(3):
            replay = await http.post(
                f"/telegram/webhook/{BOT_ID}", json=update, headers={SECRET_HEADER: state.webhook_secret}
            )
            assert replay.status_code == 200
    await telegram_settled(gateway)
    assert len(bot_api.messages_to(chat)) == 1


@pytest.mark.process
async def test_an_acknowledged_update_is_answered_after_the_gateway_is_killed(
    stack, stack_bot_api: BotApiEmulator, chat: int
):
    """The agent is frozen so the answer cannot come before the kill; the gateway dies right
    after acknowledging the update, and answers it once it is back and the agent relinks."""
    gateway, agent = stack
    bot_api = stack_bot_api
    await until(lambda: delivery_is(agent, "webhook"), what="webhook delivery")
    state = bot_api.bots[TOKEN]
    agent.proc.send_signal(signal.SIGSTOP)
    try:
        bot_api.push_message(TOKEN, "Please remember this question.", chat_id=chat, user_id=chat)
        update_id = state.updates[-1]["update_id"]
        await until(lambda: update_id in state.delivered_by_webhook, timeout=10, what="the acknowledgement")
        gateway.proc.kill()  # kill -9, before the agent could answer or the link time out
        await asyncio.to_thread(gateway.proc.wait)
    finally:
        agent.proc.send_signal(signal.SIGCONT)
    assert bot_api.messages_to(chat) == []
    await asyncio.to_thread(gateway.start)
    await wait_online(gateway, timeout=60)
    await until(lambda: bot_api.messages_to(chat), timeout=120, what="the answer after the restart")
    await telegram_settled(gateway)
    answers = bot_api.messages_to(chat)
    assert len(answers) == 1 and answers[0].strip()
