"""The clone's Telegram bots: token checks, live on/off, and who delivers the updates.

Delivery is by webhook through the gateway while the agent is linked to one (the gateway calls
setWebhook and relays each message here), else by long polling from the agent. The switch
happens live, in both directions, without losing or repeating an update: polling stops and
confirms what it handled before the gateway takes over, and the webhook is deleted before
polling starts again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.chat.service import ChatService
from aiclone_agent.core.config import ConfigStore, TelegramSection
from aiclone_agent.core.log_redaction import SecretRedactor
from aiclone_agent.telegram.polling import AIOGRAM_PARTS, Polling, import_off_loop
from aiclone_agent.telegram.responder import TelegramResponder
from aiclone_agent.telegram.store import TelegramStore
from aiclone_wire import TelegramBot as WireBot
from aiclone_wire import TelegramBots, TelegramMessage, TelegramStatus

if TYPE_CHECKING:
    from aiogram import Dispatcher

log = logging.getLogger(__name__)
Send = Callable[[object], None]


class TelegramConfigError(ValueError):
    """A token or setting was refused; the message tells the owner what to do, ``code`` (with
    ``params``, ``aiclone_wire.error_codes``) is what the admin translates."""

    def __init__(self, message: str, code: str = "telegram_config", params: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code, self.params = code, params


def telegram_error_code(text: str) -> str:
    """The code of a bot's error as aiogram or the gateway reported it (its text goes to the log only)."""
    if re.search(r"unauthori[sz]ed|not a bot token", text, re.IGNORECASE):
        return "telegram_token_rejected"
    if re.search(r"conflict|terminated by other", text, re.IGNORECASE):
        return "telegram_conflict"
    if re.search(r"network|connect|timeout|resolve|unreachable|dns", text, re.IGNORECASE):
        return "telegram_unreachable"
    return "telegram_failed"


@dataclass(frozen=True)
class BotIdentity:
    bot_id: int
    username: str


class _ErrorWatcher(logging.Handler):
    """Surfaces aiogram's polling errors as the service's ``last_error``."""

    def __init__(self, service: TelegramService) -> None:
        super().__init__(level=logging.INFO)
        self.service = service

    def emit(self, record: logging.LogRecord) -> None:
        message = self.service.redactor.redact(record.getMessage())
        if record.levelno >= logging.ERROR:
            self.service.last_error, self.service.last_error_code = message, telegram_error_code(message)
            self.service.status = "error"
        elif message.startswith("Connection established") and self.service.status == "error":
            self.service.status = "running"


class TelegramService:
    def __init__(
        self, config: ConfigStore, chat: ChatService, memory: ChatMemory, store: TelegramStore, redactor: SecretRedactor
    ) -> None:
        self.config = config
        self.store = store
        self.redactor = redactor
        self.status = "disabled"
        self.last_error: str | None = None  # as the library said it: for the log and the API, not the admin
        self.last_error_code: str | None = None  # what the admin shows (``telegram_error_code``)
        self.responder = TelegramResponder(chat, memory, store, config)
        self.polling = Polling(store, self.responder, self._report_error)
        self._link_send: Send | None = None  # set while linked to a gateway
        self._webhook = False  # the gateway confirmed it delivers our bots
        self._lock = asyncio.Lock()
        self._closed = False
        self._watcher = _ErrorWatcher(self)
        self._relay_dispatcher: Dispatcher | None = None  # built on the first relayed message
        logging.getLogger("aiogram.dispatcher").addHandler(self._watcher)
        for bot in config.current.messengers.telegram.bots:
            redactor.add(bot.token)

    @property
    def settings(self) -> TelegramSection:
        return self.config.current.messengers.telegram

    @property
    def active(self) -> bool:
        return self.settings.enabled and bool(self.settings.bots)

    def serves(self, bot_id: int) -> bool:
        """Whether ``bot_id`` is one of the owner's enabled bots (the only ones the clone answers for)."""
        return self.active and any(bot.bot_id == str(bot_id) for bot in self.settings.bots)

    @property
    def delivery(self) -> Literal["webhook", "polling"]:
        return "webhook" if self._webhook else "polling"

    def _report_error(self, message: str, code: str | None = None) -> None:
        self.last_error = self.redactor.redact(message)
        self.last_error_code = code or telegram_error_code(message)
        log.warning("telegram: %s", self.last_error)

    async def answer_relayed(self, message: TelegramMessage) -> list[str]:
        """The replies to a message the gateway received by webhook for one of our bots (``serves``)."""
        await import_off_loop(AIOGRAM_PARTS)
        from aiclone_agent.telegram.bot_client import make_bot
        from aiclone_agent.telegram.relayed import answer_relayed, relay_dispatcher

        if self._relay_dispatcher is None:
            self._relay_dispatcher = relay_dispatcher(self.responder)
        token = next(b.token for b in self.settings.bots if b.bot_id == str(message.bot_id))
        bot = make_bot(token, self.settings.api_url)
        try:
            return await answer_relayed(self._relay_dispatcher, bot, message)
        finally:
            await bot.session.close()

    async def identify(self, token: str, api_url: str) -> BotIdentity:
        """Ask the Bot API who this token belongs to (getMe); clear errors for bad tokens."""
        # aiogram is imported on first use (about 3 s, off the event loop): an agent without bots never pays it.
        await import_off_loop(AIOGRAM_PARTS)
        from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
        from aiogram.utils.token import TokenValidationError

        from aiclone_agent.telegram.bot_client import make_bot

        self.redactor.add(token)
        try:
            bot = make_bot(token, api_url)
        except TokenValidationError as exc:
            raise TelegramConfigError(
                "that is not a bot token: it looks like 123456789:ABC-DEF..., copy it from @BotFather",
                "telegram_token_malformed",
            ) from exc
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError as exc:
            raise TelegramConfigError(
                "Telegram rejected this bot token (Unauthorized): copy it again from @BotFather",
                "telegram_token_rejected",
            ) from exc
        except TelegramNetworkError as exc:
            # the library's words (aiohttp's "Cannot connect to host ...") are for the log only
            log.warning("telegram: getMe at %s failed: %s", api_url, self.redactor.redact(str(exc)))
            raise TelegramConfigError(
                f"could not reach the Telegram Bot API at {api_url}: check this PC's internet connection "
                "(and messengers.telegram.api_url in config.yaml), then save again",
                "telegram_unreachable",
                {"api_url": api_url},
            ) from exc
        except TelegramAPIError as exc:
            log.warning("telegram: the Bot API refused the token: %s", self.redactor.redact(exc.message))
            raise TelegramConfigError(
                "the Telegram Bot API refused this token: check it with @BotFather", "telegram_refused"
            ) from exc
        finally:
            await bot.session.close()
        return BotIdentity(me.id, me.username or "")

    # --- delivery ----------------------------------------------------------------------

    async def start(self) -> None:
        """Deliver as the situation allows: hand the bots to the gateway, or poll."""
        async with self._lock:
            await self._deliver()

    async def _deliver(self) -> None:
        if self._link_send is not None:
            await self._hand_over(self._link_send)
        elif self.active:
            await self.polling.start(self.settings.bots, self.settings.api_url)
            self.status, self.last_error, self.last_error_code = "running", None, None
        else:
            await self.polling.stop()
            self.status = "disabled"

    async def _hand_over(self, send: Send) -> None:
        await self.polling.stop()  # confirms what it handled: the gateway will not get it again
        settings = self.settings
        send(TelegramBots(
            enabled=self.active,
            api_url=settings.api_url,
            bots=[WireBot(bot_id=b.bot_id, token=b.token) for b in settings.bots],
        ))
        self.status = "handing over to the gateway" if self.active else "disabled"

    async def link_up(self, send: Send) -> None:
        """Linked to a gateway: offer it our bots (it answers with ``telegram_status``)."""
        async with self._lock:
            self._link_send = send
            await self._hand_over(send)

    async def link_status(self, frame: TelegramStatus) -> None:
        async with self._lock:
            failed = [b for b in frame.bots if not b.ok]
            if failed or (self.active and not frame.bots):
                self._webhook = False
                reason = "; ".join(f"bot {b.bot_id}: {b.error}" for b in failed)
                self._report_error(reason or "the gateway did not take the bots", None if reason else "telegram_not_taken")
                if self.active:
                    await self.polling.start(self.settings.bots, self.settings.api_url)
                    self.status = "running"
                return
            self._webhook = bool(frame.bots)
            self.status = "running" if self._webhook else "disabled"
            if self._webhook:
                self.last_error, self.last_error_code = None, None
                log.info("telegram: the gateway delivers %d bot(s) by webhook", len(frame.bots))

    async def link_down(self) -> None:
        """The gateway is gone: poll ourselves (works while the internet is up)."""
        async with self._lock:
            self._link_send = None
            if self._closed:
                return
            if self._webhook:
                self._webhook = False
                log.info("telegram: gateway link lost, switching to long polling")
            await self._deliver()

    async def stop(self) -> None:
        async with self._lock:
            await self.polling.stop()
            self.status = "disabled" if not self.settings.enabled else "stopped"

    async def configure(self, enabled: bool, tokens: list[str | None], allowed_user_ids: list[int] | None = None) -> None:
        """Validate every token with getMe, persist, and restart delivery. A bad token changes nothing.

        ``None`` in ``tokens`` keeps the bot at that position as it is (the UI only has masks)."""
        current = dict(enumerate(self.settings.bots))
        api_url = self.settings.api_url
        bots = []
        for index, token in enumerate(tokens):
            if token is None:
                if index not in current:
                    raise TelegramConfigError(f"bots[{index}] has no token")
                bots.append(current[index].model_dump())
                continue
            identity = await self.identify(token, api_url)
            bots.append({"bot_id": str(identity.bot_id), "token": token, "linked_clone_id": self.config.current.clone.id})
        if enabled and not bots:
            raise TelegramConfigError("add a bot token before enabling Telegram")

        def apply(data: dict) -> None:
            data["messengers"]["telegram"].update(enabled=enabled, bots=bots)
            if allowed_user_ids is not None:
                data["messengers"]["telegram"]["allowed_user_ids"] = allowed_user_ids

        async with self._lock:
            await self.polling.stop()
            self.config.update(apply)
            await self._deliver()

    async def close(self) -> None:
        self._closed = True
        await self.stop()
        logging.getLogger("aiogram.dispatcher").removeHandler(self._watcher)
