"""Telegram webhook delivery at the gateway, answered by the agent over the relay.

The agent hands over its bots (``telegram_bots`` frame, tokens included). For each, the gateway
seals the token at rest, calls setWebhook with a fresh random secret token, and from then on
receives the bot's updates at ``/telegram/webhook/{bot_id}``. Each update is acknowledged at
once, de-duplicated by update id, and fed to an aiogram Dispatcher in the background
(``relay_router``): the text goes to the agent in
a ``telegram_request`` frame (only this code makes one), the agent's replies come back as chunks, one message each, sent as
plain text with a typing action while the agent works. While the agent is away the user gets a
polite note and the question waits in ``telegram_pending``, answered in order on its return.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from aiclone_wire import Chunk, End, Error, TelegramBots, TelegramBotState, TelegramMessage, TelegramStatus
from aiclone_wire.messages import TELEGRAM_TEXT_LIMIT
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.relay.hub import AgentOfflineError, RelayHub
from aiclone_gateway.telegram.relay_router import build_relay_router
from aiclone_gateway.telegram.models import TelegramBot, TelegramPending, TelegramSeenUpdate
from aiclone_gateway.telegram.vault import TokenVault

log = logging.getLogger(__name__)
OFFLINE_REPLY = "I'm offline right now. Your message is saved and I will answer as soon as I'm back."
FAILED_REPLY = "Sorry, I can't answer right now. Please try again in a moment."
ALLOWED_UPDATES = ["message"]
TYPING_EVERY_S = 4.0


@dataclass
class LiveBot:
    bot_id: str
    secret_token: str
    bot: Bot


class TelegramDelivery:
    def __init__(
        self, db: async_sessionmaker, hub: RelayHub, vault: TokenVault, public_url: str, idle_timeout_s: float
    ) -> None:
        self.db = db
        self.hub = hub
        self.vault = vault
        self.public_url = public_url.rstrip("/")
        self.idle_timeout_s = idle_timeout_s
        self._bots: dict[str, LiveBot] = {}
        self._tasks: set[asyncio.Task] = set()
        self._drain_lock = asyncio.Lock()
        self._dispatcher = Dispatcher()
        self._dispatcher.include_router(build_relay_router())
        hub.on_change(self._agent_changed)

    # --- the agent's bots ------------------------------------------------------------------

    async def load(self) -> None:
        """Bots registered before a restart keep receiving their webhook updates."""
        async with self.db() as session:
            rows = (await session.execute(select(TelegramBot))).scalars().all()
        for row in rows:
            token = self.vault.open(row.token_sealed)
            if token is not None:
                self._bots[row.bot_id] = LiveBot(row.bot_id, row.secret_token, _bot(token, row.api_url))

    def webhook_url(self, bot_id: str) -> str:
        return f"{self.public_url}/telegram/webhook/{bot_id}"

    async def take_over(self, frame: TelegramBots) -> TelegramStatus:
        """Deliver the agent's bots by webhook from now on (or stop, when it disabled them)."""
        wanted = {b.bot_id: b.token for b in frame.bots} if frame.enabled else {}
        for bot_id in [b for b in self._bots if b not in wanted]:
            await self._forget(bot_id)
        states = [await self._register(bot_id, token, frame.api_url) for bot_id, token in wanted.items()]
        return TelegramStatus(bots=states)

    async def _register(self, bot_id: str, token: str, api_url: str) -> TelegramBotState:
        secret = secrets.token_urlsafe(32)
        bot = _bot(token, api_url)
        try:
            await bot.set_webhook(
                self.webhook_url(bot_id),
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
        except TelegramAPIError as exc:
            await bot.session.close()
            return TelegramBotState(bot_id=bot_id, ok=False, error=f"setWebhook failed: {exc.message}")
        async with self.db() as session, session.begin():
            await session.merge(
                TelegramBot(
                    bot_id=bot_id, token_sealed=self.vault.seal(token), secret_token=secret, api_url=api_url
                )
            )
        old = self._bots.pop(bot_id, None)
        if old is not None:
            await old.bot.session.close()
        self._bots[bot_id] = LiveBot(bot_id, secret, bot)
        log.info("telegram: bot %s delivers by webhook", bot_id)
        return TelegramBotState(bot_id=bot_id, ok=True)

    async def _forget(self, bot_id: str) -> None:
        live = self._bots.pop(bot_id, None)
        async with self.db() as session, session.begin():
            await session.execute(delete(TelegramBot).where(TelegramBot.bot_id == bot_id))
        if live is not None:
            with contextlib.suppress(TelegramAPIError):
                await live.bot.delete_webhook(drop_pending_updates=False)
            await live.bot.session.close()

    # --- incoming updates ------------------------------------------------------------------

    def secret_matches(self, bot_id: str, presented: str | None) -> bool:
        live = self._bots.get(bot_id)
        return bool(live and presented and hmac.compare_digest(live.secret_token, presented))

    async def first_time(self, bot_id: str, update_id: int) -> bool:
        """Record the update id; False when Telegram already delivered this update."""
        try:
            async with self.db() as session, session.begin():
                session.add(TelegramSeenUpdate(bot_id=bot_id, update_id=update_id))
        except IntegrityError:
            return False
        return True

    def handle_later(self, bot_id: str, update: dict) -> None:
        live = self._bots.get(bot_id)
        if live is None:
            return
        task = asyncio.create_task(self._feed(live, update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _feed(self, live: LiveBot, update: dict) -> None:
        try:
            await self._dispatcher.feed_webhook_update(live.bot, update, telegram_delivery=self)
        except Exception:  # noqa: BLE001 - one failed update must not stop the others
            log.exception("telegram: an update for bot %s failed", live.bot_id)

    async def relay_message(self, bot_id: str, chat_id: int, user_id: int | None, text: str) -> None:
        """Answer one message through the agent, or queue it with a polite note while it is away."""
        live = self._bots.get(bot_id)
        if live is None:
            return
        question = TelegramPending(bot_id=bot_id, chat_id=chat_id, user_id=user_id, text=text)
        try:
            await self._answer(live, question)
        except AgentOfflineError:
            async with self.db() as session, session.begin():
                session.add(question)
            await self._send(live, chat_id, OFFLINE_REPLY)

    async def _answer(self, live: LiveBot, question: TelegramPending) -> None:
        message = TelegramMessage(
            bot_id=int(live.bot_id),
            chat_id=question.chat_id,
            user_id=question.user_id,
            text=question.text[:TELEGRAM_TEXT_LIMIT],
        )
        typing = asyncio.create_task(self._typing(live, question.chat_id))
        replies: list[str] = []
        try:
            async with self.hub.stream(message) as stream:
                async for frame in stream.frames(self.idle_timeout_s):
                    if isinstance(frame, Chunk) and frame.delta:
                        replies.append(frame.delta)
                    elif isinstance(frame, Error):
                        if frame.code == "agent_disconnected":  # the link dropped mid-answer
                            raise AgentOfflineError(frame.message)
                        log.warning("telegram: the agent could not answer: %s", frame.message)
                        replies = [FAILED_REPLY]
                        break
                    elif isinstance(frame, End):
                        break
        finally:
            typing.cancel()
        for reply in replies:
            await self._send(live, question.chat_id, reply)

    async def _typing(self, live: LiveBot, chat_id: int) -> None:
        with contextlib.suppress(TelegramAPIError, asyncio.CancelledError):
            while True:
                await live.bot.send_chat_action(chat_id, "typing")
                await asyncio.sleep(TYPING_EVERY_S)

    async def _send(self, live: LiveBot, chat_id: int, text: str) -> None:
        try:
            await live.bot.send_message(chat_id, text, parse_mode=None)
        except TelegramAPIError as exc:
            log.warning("telegram: sendMessage to a chat of bot %s failed: %s", live.bot_id, exc.message)

    # --- store-and-forward ---------------------------------------------------------------

    def _agent_changed(self, online: bool) -> None:
        if online:
            task = asyncio.create_task(self.drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Answer the questions that waited for the agent, oldest first."""
        async with self._drain_lock:
            async with self.db() as session:
                waiting = (
                    (await session.execute(select(TelegramPending).order_by(TelegramPending.id)))
                    .scalars()
                    .all()
                )
            for question in waiting:
                live = self._bots.get(question.bot_id)
                if live is not None:
                    try:
                        await self._answer(live, question)
                    except AgentOfflineError:
                        return  # gone again: the rest waits for the next link
                async with self.db() as session, session.begin():
                    await session.execute(delete(TelegramPending).where(TelegramPending.id == question.id))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for live in self._bots.values():
            await live.bot.session.close()


def _bot(token: str, api_url: str) -> Bot:
    return Bot(
        token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)),
        default=DefaultBotProperties(parse_mode=None),
    )
