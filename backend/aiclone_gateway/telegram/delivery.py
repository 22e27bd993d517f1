"""Telegram webhook delivery at the gateway, answered by the agent over the relay.

The agent hands over its bots (``telegram_bots`` frame, tokens included). For each, the gateway
seals the token at rest, calls setWebhook with a fresh random secret token, and from then on
receives the bot's updates at ``/telegram/webhook/{bot_id}``. Each update is de-duplicated by
update id and its message stored in ``telegram_pending`` in the same commit, and only then
acknowledged; then it is fed to an aiogram Dispatcher in the background (``bot_api``): the
text goes to the agent in a ``telegram_request`` frame (only this code makes one), the agent's
replies come back as chunks, one message each, sent as plain text with a typing action while the
agent works, and the stored question is deleted once answered. Each answer is sent at most once
(``outbox``): the question is claimed before the agent is asked, the replies are stored before the
first is sent, and each is marked before sendMessage, so a repeated delivery, a restart between
sendMessage and the bookkeeping, or another replica never sends it again. While the agent is away
the user gets a polite note and the question waits, answered in order on its return; one whose
answer a gateway restart interrupted goes on from its stored replies.

The Bot API address is the gateway's own setting (``telegram_api_url``), never one an agent
sends, and the Bot API's error text is never reflected to the agent: an agent token must not turn
the gateway into a client of any URL it names.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import importlib
import logging
import secrets
import sys
import time
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any

import aiohttp
from prometheus_client import Gauge
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.relay.hub import RelayHub
from aiclone_gateway.relay.streams import AgentOfflineError
from aiclone_gateway.telegram.models import TelegramBot, TelegramPending, TelegramReply, TelegramSeenUpdate
from aiclone_gateway.telegram.outbox import TelegramOutbox
from aiclone_gateway.telegram.vault import TokenVault
from aiclone_wire import Chunk, End, Error, TelegramBots, TelegramBotState, TelegramMessage, TelegramStatus
from aiclone_wire.messages import TELEGRAM_TEXT_LIMIT

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

log = logging.getLogger(__name__)
BOT_API = "aiclone_gateway.telegram.bot_api"  # everything of aiogram, imported when a bot is served
RELOAD_EVERY_S = 1.0  # a bot whose secret does not match is read again at most this often
OFFLINE_REPLY = "I'm offline right now. Your message is saved and I will answer as soon as I'm back."
FAILED_REPLY = "Sorry, I can't answer right now. Please try again in a moment."
ALLOWED_UPDATES = ["message"]
TYPING_EVERY_S = 4.0
# A reply whose sendMessage a crash left unconfirmed: it may or may not have reached the chat.
CUT_REPLY_LOG = "telegram: a reply cut by a restart during its sendMessage is not sent again"


@dataclass
class LiveBot:
    bot_id: str
    secret_token: str
    bot: Bot


class TelegramDelivery:
    def __init__(
        self,
        db: async_sessionmaker,
        hub: RelayHub,
        vault: TokenVault,
        public_url: str,
        idle_timeout_s: float,
        api_url: str,
        seen_updates_ttl_s: float,
        in_progress: Gauge,
        replica: str,
    ) -> None:
        self.db = db
        self.outbox = TelegramOutbox(db, replica)
        self.in_progress = in_progress
        self.api_url = api_url
        self.seen_updates_ttl_s = seen_updates_ttl_s
        self._pruned_at = 0.0
        self.hub = hub
        self.vault = vault
        self.public_url = public_url.rstrip("/")
        self.idle_timeout_s = idle_timeout_s
        self._bots: dict[str, LiveBot] = {}
        self._reloaded_at: dict[str, float] = {}  # bot id -> when verify last read it again
        self._tasks: set[asyncio.Task] = set()
        self._drain_lock = asyncio.Lock()
        hub.on_change(self._agent_changed)

    @cached_property
    def _dispatcher(self) -> Dispatcher:
        return _aiogram().build_dispatcher(self.relay_message)

    # --- the agent's bots ------------------------------------------------------------------

    async def load(self) -> None:
        """Bots registered before a restart keep receiving their webhook updates."""
        async with self.db() as session:
            rows = (await session.execute(select(TelegramBot))).scalars().all()
        for row in rows:
            token = self.vault.open(row.token_sealed)
            if token is not None:
                self._bots[row.bot_id] = LiveBot(
                    row.bot_id, row.secret_token, await _bot(token, self.api_url)
                )

    def webhook_url(self, bot_id: str) -> str:
        return f"{self.public_url}/telegram/webhook/{bot_id}"

    async def take_over(self, frame: TelegramBots) -> TelegramStatus:
        """Deliver the agent's bots by webhook from now on (or stop, when it disabled them)."""
        wanted = {b.bot_id: b.token for b in frame.bots} if frame.enabled else {}
        for bot_id in [b for b in self._bots if b not in wanted]:
            await self._forget(bot_id)
        if frame.enabled and frame.api_url.rstrip("/") != self.api_url.rstrip("/"):
            log.info("telegram: the agent's Bot API address is not used here; the gateway's setting is")
        states = [await self._register(bot_id, token) for bot_id, token in wanted.items()]
        self._agent_changed(self.hub.online)  # questions that waited for these bots are answered now
        return TelegramStatus(bots=states)

    async def _register(self, bot_id: str, token: str) -> TelegramBotState:
        secret = secrets.token_urlsafe(32)
        bot = await _bot(token, self.api_url)
        try:
            await bot.set_webhook(
                self.webhook_url(bot_id),
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
        except (_aiogram().TelegramAPIError, aiohttp.ClientError, asyncio.TimeoutError) as exc:
            await bot.session.close()
            log.warning("telegram: setWebhook for bot %s failed: %s", bot_id, type(exc).__name__)
            return TelegramBotState(
                bot_id=bot_id, ok=False, error="setWebhook failed at the gateway; its log says why"
            )
        async with self.db() as session, session.begin():
            await session.merge(
                TelegramBot(
                    bot_id=bot_id,
                    token_sealed=self.vault.seal(token),
                    secret_token=secret,
                    api_url=self.api_url,
                )
            )
        # Swap before closing the old session: an await between the two would let the drain find
        # no bot and pass over its stored questions.
        old = self._bots.get(bot_id)
        self._bots[bot_id] = LiveBot(bot_id, secret, bot)
        if old is not None:
            await old.bot.session.close()
        log.info("telegram: bot %s delivers by webhook", bot_id)
        return TelegramBotState(bot_id=bot_id, ok=True)

    async def _forget(self, bot_id: str) -> None:
        live = self._bots.pop(bot_id, None)
        async with self.db() as session, session.begin():
            await session.execute(delete(TelegramBot).where(TelegramBot.bot_id == bot_id))
        if live is not None:
            with contextlib.suppress(_aiogram().TelegramAPIError):
                await live.bot.delete_webhook(drop_pending_updates=False)
            await live.bot.session.close()

    # --- incoming updates ------------------------------------------------------------------

    def secret_matches(self, bot_id: str, presented: str | None) -> bool:
        live = self._bots.get(bot_id)
        return bool(live and presented and hmac.compare_digest(live.secret_token, presented))

    async def verify(self, bot_id: str, presented: str | None) -> bool:
        """``secret_matches``, after reading the bot again from the database when it does not:
        with replicas, the agent may have handed the bot over (a new secret) to another one."""
        if self.secret_matches(bot_id, presented):
            return True
        if not presented or time.monotonic() - self._reloaded_at.get(bot_id, -1e9) < RELOAD_EVERY_S:
            return False
        self._reloaded_at[bot_id] = time.monotonic()
        async with self.db() as session:
            row = await session.get(TelegramBot, bot_id)
        token = self.vault.open(row.token_sealed) if row is not None else None
        if row is None or token is None:
            return False
        live = self._bots.get(bot_id)
        if live is None or live.secret_token != row.secret_token:
            self._bots[bot_id] = LiveBot(bot_id, row.secret_token, await _bot(token, self.api_url))
            if live is not None:
                await live.bot.session.close()
        return self.secret_matches(bot_id, presented)

    async def accept(self, bot_id: str, update: dict[str, Any]) -> int | None:
        """Store a webhook update before it is acknowledged: its id as seen and, for a message,
        the question, in one commit. The stored question's id; None for a repeated delivery or
        an update without a message (then there is nothing to answer)."""
        question = _question(bot_id, update)
        try:
            async with self.db() as session, session.begin():
                session.add(TelegramSeenUpdate(bot_id=bot_id, update_id=int(update["update_id"])))
                if question is not None:
                    session.add(question)
                    await session.flush()
        except IntegrityError:
            return None
        await self._prune_seen_updates()
        return question.id if question is not None else None

    async def _prune_seen_updates(self) -> None:
        """Telegram retries a delivery for a day at most; older seen ids are not kept forever."""
        now = time.time()
        if now - self._pruned_at < min(3600.0, self.seen_updates_ttl_s / 4):
            return
        self._pruned_at = now
        async with self.db() as session, session.begin():
            await session.execute(
                delete(TelegramSeenUpdate).where(TelegramSeenUpdate.seen_at < now - self.seen_updates_ttl_s)
            )

    def handle_later(self, bot_id: str, update: dict[str, Any], question_id: int | None) -> None:
        live = self._bots.get(bot_id)
        if live is None:
            return
        self._track(asyncio.create_task(self._feed(live, update, question_id)))

    def _track(self, task: asyncio.Task) -> None:
        """Keep a background task until it ends; the gauge says how many are under way (a test
        waits for none before it counts answers, instead of sleeping)."""
        self._tasks.add(task)
        self.in_progress.set(len(self._tasks))
        task.add_done_callback(self._untrack)

    def _untrack(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self.in_progress.set(len(self._tasks))

    async def _feed(self, live: LiveBot, update: dict[str, Any], question_id: int | None) -> None:
        try:
            await self._dispatcher.feed_webhook_update(live.bot, update, question_id=question_id)
        except Exception:
            log.exception("telegram: an update for bot %s failed", live.bot_id)

    async def relay_message(self, bot_id: str, question_id: int | None) -> None:
        """Answer one stored message through the agent, then forget it; while the agent is away
        the question stays stored and the user gets a polite note. A question a drain claimed
        first is left to it."""
        live = self._bots.get(bot_id)
        if live is None or question_id is None or not await self.outbox.claim(question_id):
            return
        question = await self.outbox.question(question_id)
        if question is None:
            return
        try:
            await self._answer_claimed(live, question)
        except AgentOfflineError:
            await self._send(live, question.chat_id, OFFLINE_REPLY)

    async def _answer_claimed(self, live: LiveBot, question: TelegramPending) -> None:
        """Answer a question this replica claimed, and forget it; whatever stops the answer
        (the agent gone, a failure, shutdown) gives the claim back for the next drain."""
        try:
            replies = await self.outbox.replies(question.id)
            if not replies:  # not answered yet (a restart may have cut an answer after this point)
                replies = await self.outbox.keep(question.id, await self._ask(live, question))
            for reply in replies:
                if reply.state == "pending":
                    await self._send_reply(live, question.chat_id, reply)
                elif reply.state == "sending":  # an earlier try may have sent it: never again
                    log.warning("%s (bot %s)", CUT_REPLY_LOG, live.bot_id)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.outbox.release(question.id))
            raise
        await self.outbox.finish(question.id)

    async def _ask(self, live: LiveBot, question: TelegramPending) -> list[str]:
        """The agent's replies to the question, in order (``FAILED_REPLY`` when it could not answer)."""
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
        return replies

    async def _typing(self, live: LiveBot, chat_id: int) -> None:
        with contextlib.suppress(_aiogram().TelegramAPIError, asyncio.CancelledError):
            while True:
                await live.bot.send_chat_action(chat_id, "typing")
                await asyncio.sleep(TYPING_EVERY_S)

    async def _send(self, live: LiveBot, chat_id: int, text: str) -> None:
        try:
            await live.bot.send_message(chat_id, text, parse_mode=None)
        except _aiogram().TelegramAPIError as exc:
            log.warning("telegram: sendMessage to a chat of bot %s failed: %s", live.bot_id, exc.message)

    async def _send_reply(self, live: LiveBot, chat_id: int, reply: TelegramReply) -> None:
        """Send one stored reply at most once: marked before sendMessage, confirmed after."""
        if not await self.outbox.sending(reply.id):
            return
        bot_api = _aiogram()
        try:
            sent = await live.bot.send_message(chat_id, reply.text, parse_mode=None)
        except bot_api.TelegramNetworkError as exc:
            # It may have reached the chat before the connection failed: left "sending", never resent.
            log.warning(
                "telegram: sendMessage to a chat of bot %s went unconfirmed: %s", live.bot_id, exc.message
            )
            return
        except bot_api.TelegramAPIError as exc:
            log.warning("telegram: sendMessage to a chat of bot %s failed: %s", live.bot_id, exc.message)
            await self.outbox.failed(reply.id)
            return
        await self.outbox.sent(reply.id, sent.message_id)

    # --- store-and-forward ---------------------------------------------------------------

    def _agent_changed(self, online: bool) -> None:
        if online and self.hub.linked_here:  # with replicas, the one holding the link drains
            self._track(asyncio.create_task(self.drain()))

    async def recover(self, other_live_replicas: set[str]) -> None:
        """At start: answers this process (or a dead replica) was sending when it died are
        claimed again by the next drain, which goes on from their stored replies."""
        released = await self.outbox.release_interrupted(spare=other_live_replicas)
        if released:
            log.info("telegram: %d interrupted answer(s) will be finished by the next drain", released)

    async def drain(self) -> None:
        """Answer the questions that waited for the agent, oldest first (those nobody claimed:
        a webhook delivery or another replica answering one right now keeps it)."""
        async with self._drain_lock:
            for question in await self.outbox.unclaimed():
                live = self._bots.get(question.bot_id)
                if live is None:
                    continue  # not delivered here now: it waits until the agent hands the bot over again
                if not await self.outbox.claim(question.id):
                    continue
                try:
                    await self._answer_claimed(live, question)
                except AgentOfflineError:
                    return  # gone again: the rest waits for the next link

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for live in self._bots.values():
            await live.bot.session.close()


def _question(bot_id: str, update: dict[str, Any]) -> TelegramPending | None:
    message = update.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return None
    sender = message.get("from")
    text = message.get("text")
    return TelegramPending(
        bot_id=bot_id,
        chat_id=int(message["chat"]["id"]),
        user_id=int(sender["id"]) if isinstance(sender, dict) and "id" in sender else None,
        text=text if isinstance(text, str) else "",
    )


async def _bot(token: str, api_url: str) -> Bot:
    """A Bot for the token; the first one imports aiogram on a worker thread (seconds of import
    that would otherwise stall every chat and the agent link on this event loop)."""
    if BOT_API not in sys.modules:
        await asyncio.to_thread(importlib.import_module, BOT_API)
    return _aiogram().make_bot(token, api_url)


def _aiogram() -> ModuleType:
    """``bot_api``, imported on first use: a gateway that serves no bot never pays for aiogram.
    Reached only once a bot exists, so after ``_bot`` imported it."""
    return importlib.import_module(BOT_API)
