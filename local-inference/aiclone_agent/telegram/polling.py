"""Long polling from the agent (aiogram), used when no gateway takes the bots' webhooks.

Updates are handled one at a time (``handle_as_tasks=False``): Telegram learns an update was
handled only with the next getUpdates call, after the answer went out, and stopping confirms
the last one explicitly, so nothing is lost or answered twice across restarts and hand-overs.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiclone_agent.core.config import TelegramBot
from aiclone_agent.telegram.responder import TelegramResponder
from aiclone_agent.telegram.store import TelegramStore

if TYPE_CHECKING:
    from aiogram import Dispatcher

log = logging.getLogger(__name__)
AIOGRAM_PARTS = (
    "aiclone_agent.telegram.bot_client",
    "aiclone_agent.telegram.middlewares",
    "aiclone_agent.telegram.commands",
    "aiclone_agent.telegram.relayed",
)


async def import_off_loop(modules: tuple[str, ...]) -> None:
    """Import ``modules`` on a worker thread (once; later calls find them imported)."""
    missing = [name for name in modules if name not in sys.modules]
    if missing:
        await asyncio.to_thread(lambda: [importlib.import_module(name) for name in missing])


class Polling:
    def __init__(self, store: TelegramStore, responder: TelegramResponder, report_error: Callable[[str], None]) -> None:
        self.store = store
        self.responder = responder
        self.report_error = report_error
        self._dispatcher: Dispatcher | None = None
        self._task: asyncio.Task | None = None
        self._bots: list[TelegramBot] = []
        self._api_url = ""

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, bots: list[TelegramBot], api_url: str) -> None:
        # aiogram takes about 3 s to import: only an agent that polls (or checks a token) pays it,
        # on a worker thread, so running answers keep streaming meanwhile.
        await import_off_loop(AIOGRAM_PARTS)
        from aiogram import Dispatcher
        from aiogram.exceptions import TelegramAPIError

        from aiclone_agent.telegram.bot_client import make_bot
        from aiclone_agent.telegram.commands import build_router
        from aiclone_agent.telegram.middlewares import HandleOnce, SendReplies

        await self.stop()
        dispatcher = Dispatcher()
        dispatcher.update.outer_middleware(HandleOnce(self.store))
        dispatcher.message.middleware(SendReplies())
        dispatcher.include_router(build_router())
        clients = [make_bot(b.token, api_url) for b in bots]
        for client in clients:  # getUpdates does not work while a webhook is set
            try:
                await client.delete_webhook(drop_pending_updates=False)
            except TelegramAPIError as exc:
                self.report_error(str(exc))
        self._dispatcher, self._bots, self._api_url = dispatcher, list(bots), api_url
        self._task = asyncio.create_task(
            dispatcher.start_polling(
                *clients, handle_as_tasks=False, handle_signals=False, polling_timeout=10,
                telegram_responder=self.responder,
            ),
            name="telegram-polling",
        )
        log.info("telegram: polling %d bot(s)", len(clients))

    async def stop(self) -> None:
        dispatcher, task = self._dispatcher, self._task
        self._dispatcher, self._task = None, None
        if dispatcher is None or task is None:
            return
        if not task.done():
            try:
                await dispatcher.stop_polling()
            except RuntimeError:  # polling had not started yet
                task.cancel()
        try:
            await asyncio.wait_for(task, timeout=15)
        except (asyncio.CancelledError, asyncio.TimeoutError):
            pass
        await self._confirm_handled()

    async def _confirm_handled(self) -> None:
        """Confirm the last handled update now; otherwise it would be delivered again."""
        from aiogram.exceptions import TelegramAPIError  # imported by start(), which ran first

        from aiclone_agent.telegram.bot_client import make_bot

        for settings in self._bots:
            last = await self.store.last_handled(int(settings.bot_id)) if settings.bot_id else None
            if last is None:
                continue
            client = make_bot(settings.token, self._api_url)
            try:
                await client.get_updates(offset=last + 1, timeout=0, limit=1)
            except TelegramAPIError as exc:
                self.report_error(str(exc))
            finally:
                await client.session.close()
