"""A local Telegram Bot API emulator: a real HTTP server speaking the Bot API protocol.

Implements getMe, getUpdates (long polling with offset confirmation), setWebhook (delivers
updates by HTTP POST with the secret token header), deleteWebhook, getWebhookInfo,
sendMessage, sendChatAction and editMessageText, and records every call. Tests point aiogram
at it with ``messengers.telegram.api_url``; it never talks to Telegram.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Call:
    token: str
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.time)


@dataclass
class BotState:
    id: int
    username: str
    first_name: str
    updates: list[dict] = field(default_factory=list)
    confirmed: int = 0
    webhook_url: str = ""
    webhook_secret: str = ""
    allowed_updates: list[str] | None = None
    next_message_id: int = 1000
    new_update: asyncio.Event = field(default_factory=asyncio.Event)
    delivered_by_webhook: list[int] = field(default_factory=list)


def _coerce(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


class BotApiEmulator:
    MAX_TEXT = 4096
    MAX_LONG_POLL = 1.0  # seconds a getUpdates call is held at most (Telegram: the client's timeout)

    def __init__(self) -> None:
        self.bots: dict[str, BotState] = {}
        self.calls: list[Call] = []
        self.sent: list[dict] = []
        self._next_update_id = 1
        self._runner: web.AppRunner | None = None
        self._webhook_tasks: set[asyncio.Task] = set()
        self.url = ""
        self._closing = False
        # Called with each message sendMessage stored, before the caller hears back (a test kills
        # the gateway here: the message went out, the gateway never learned it did).
        self.on_sent: Callable[[dict], None] | None = None

    def add_bot(self, token: str, username: str = "clone_test_bot", first_name: str = "Clone") -> BotState:
        bot_id = int(token.split(":", 1)[0])
        state = BotState(bot_id, username, first_name)
        self.bots[token] = state
        return state

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = site._server.sockets
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        return self.url

    async def stop(self) -> None:
        self._closing = True
        for state in self.bots.values():
            state.new_update.set()  # release held long polls
        for task in self._webhook_tasks:
            task.cancel()
        if self._runner:
            await self._runner.cleanup()

    # --- test-side helpers -------------------------------------------------------------

    def push_message(self, token: str, text: str, chat_id: int = 501, user_id: int = 501, first_name: str = "Ann") -> int:
        """A user writes to the bot; returns the update_id."""
        state = self.bots[token]
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private", "first_name": first_name},
                "from": {"id": user_id, "is_bot": False, "first_name": first_name},
                "text": text,
                **({"entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]} if text.startswith("/") else {}),
            },
        }
        state.updates.append(update)
        state.new_update.set()
        if state.webhook_url:
            self._spawn_webhook_delivery(state, update)
        return update_id

    async def deliver_again(self, token: str, update_id: int) -> int:
        """Post an update to the webhook once more, as Telegram does when it did not get the 200
        (its status code)."""
        state = self.bots[token]
        (update,) = [u for u in state.updates if u["update_id"] == update_id]
        headers = {"X-Telegram-Bot-Api-Secret-Token": state.webhook_secret}
        async with aiohttp.ClientSession() as session, session.post(
            state.webhook_url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=30)
        ) as response:
            return response.status

    def calls_of(self, method: str, token: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower() and (token is None or c.token == token)]

    def messages_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.sent if m["chat"]["id"] == chat_id]

    async def wait_for(self, predicate, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("the emulator did not see the expected calls in time")
            await asyncio.sleep(0.05)

    # --- the Bot API -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                params = await request.json()
            else:
                form = await request.post()
                params = {k: _coerce(v) for k, v in form.items() if isinstance(v, str)}
        params.update({k: _coerce(v) for k, v in request.query.items()})
        self.calls.append(Call(token, method, params))
        state = self.bots.get(token)
        if state is None:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status=404)
        try:
            result = await handler(state, params)
        except ValueError as exc:
            return web.json_response({"ok": False, "error_code": 400, "description": f"Bad Request: {exc}"}, status=400)
        return web.json_response({"ok": True, "result": result})

    async def _api_getme(self, state: BotState, params: dict) -> dict:
        return {"id": state.id, "is_bot": True, "first_name": state.first_name, "username": state.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _api_getupdates(self, state: BotState, params: dict) -> list[dict]:
        if state.webhook_url:
            raise ValueError("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        if offset:
            state.confirmed = max(state.confirmed, offset - 1)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + min(timeout, self.MAX_LONG_POLL)
        while True:
            pending = [u for u in state.updates if u["update_id"] > state.confirmed]
            if pending or self._closing or time.monotonic() >= deadline:
                return pending[: int(params.get("limit") or 100)]
            state.new_update.clear()
            try:
                await asyncio.wait_for(state.new_update.wait(), timeout=max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    async def _api_setwebhook(self, state: BotState, params: dict) -> bool:
        url = params.get("url") or ""
        if not url:
            raise ValueError("bad webhook: An HTTPS URL must be provided for webhook")
        state.webhook_url = url
        state.webhook_secret = params.get("secret_token") or ""
        state.allowed_updates = params.get("allowed_updates")
        if params.get("drop_pending_updates"):
            state.confirmed = max((u["update_id"] for u in state.updates), default=state.confirmed)
        for update in [u for u in state.updates if u["update_id"] > state.confirmed]:
            self._spawn_webhook_delivery(state, update)
        return True

    async def _api_deletewebhook(self, state: BotState, params: dict) -> bool:
        state.webhook_url = ""
        state.webhook_secret = ""
        if params.get("drop_pending_updates"):
            state.confirmed = max((u["update_id"] for u in state.updates), default=state.confirmed)
        return True

    async def _api_getwebhookinfo(self, state: BotState, params: dict) -> dict:
        pending = len([u for u in state.updates if u["update_id"] > state.confirmed])
        info: dict[str, Any] = {"url": state.webhook_url, "has_custom_certificate": False, "pending_update_count": pending}
        if state.allowed_updates is not None:
            info["allowed_updates"] = state.allowed_updates
        return info

    def _message(self, state: BotState, chat_id: int, text: str) -> dict:
        state.next_message_id += 1
        return {"message_id": state.next_message_id, "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": state.id, "is_bot": True, "first_name": state.first_name, "username": state.username},
                "text": text}

    async def _api_sendmessage(self, state: BotState, params: dict) -> dict:
        text = str(params.get("text") or "")
        if not text:
            raise ValueError("message text is empty")
        if len(text) > self.MAX_TEXT:
            raise ValueError("message is too long")
        if params.get("parse_mode") in ("HTML", "MarkdownV2", "Markdown"):
            raise ValueError("this emulator accepts plain text only")
        message = self._message(state, int(params["chat_id"]), text)
        self.sent.append(message)
        if self.on_sent is not None:
            self.on_sent(message)
        return message

    async def _api_sendchataction(self, state: BotState, params: dict) -> bool:
        if params.get("action") not in ("typing", "upload_document"):
            raise ValueError("wrong action")
        return True

    async def _api_editmessagetext(self, state: BotState, params: dict) -> dict:
        for message in self.sent:
            if message["message_id"] == int(params["message_id"]) and message["chat"]["id"] == int(params["chat_id"]):
                message["text"] = str(params["text"])
                return message
        raise ValueError("message to edit not found")

    # --- webhook delivery ----------------------------------------------------------------

    def _spawn_webhook_delivery(self, state: BotState, update: dict) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(state, update))
        self._webhook_tasks.add(task)
        task.add_done_callback(self._webhook_tasks.discard)

    async def _deliver(self, state: BotState, update: dict) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": state.webhook_secret} if state.webhook_secret else {}
        for attempt in range(20):
            if not state.webhook_url or update["update_id"] <= state.confirmed:
                return
            try:
                async with aiohttp.ClientSession() as session, session.post(state.webhook_url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as response:
                    if response.status == 200:
                        state.confirmed = max(state.confirmed, update["update_id"])
                        state.delivered_by_webhook.append(update["update_id"])
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(min(0.2 * 2**attempt, 2.0))
