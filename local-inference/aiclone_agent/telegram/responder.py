"""What the clone says to a Telegram message, independent of how the message arrived.

Polling (aiogram on the agent) and webhook delivery (the gateway relays the message over the
link) both call ``TelegramResponder.respond`` and send back the returned texts in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiclone_agent.chat.context import ContextOverflowError
from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.chat.service import ChatService, ConversationNotFoundError
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.engine.base import EngineBusyError, EngineError
from aiclone_agent.telegram.splitting import split_message
from aiclone_agent.telegram.store import TelegramStore
from aiclone_wire.memory import telegram_person

CHANNEL = "telegram"
HELP = (
    "Just write to me and I will answer.\n\n"
    "/reset - start a new conversation\n"
    "/memory - what I remember about you\n"
    "/forget - erase everything I remember about you\n"
    "/help - this message"
)
MEMORY_LIST = 10  # /memory shows this many of the newest memories
MEMORY_LINE_CHARS = 200
FORGET_WORDS = ("yes", "да")  # "/forget yes" confirms the erasure
NOT_ALLOWED = "Sorry, this bot only talks to people its owner has allowed."
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingMessage:
    bot_id: int
    chat_id: int
    user_id: int | None
    text: str | None


class TelegramResponder:
    def __init__(self, chat: ChatService, memory: ChatMemory, store: TelegramStore, config: ConfigStore) -> None:
        self.chat = chat
        # /memory and /forget: the Telegram user's own memories
        self.memory = memory
        self.store = store
        self.config = config

    async def respond(self, message: IncomingMessage) -> list[str]:
        """The replies to send, each within Telegram's 4,096-character limit."""
        allowed = self.config.current.messengers.telegram.allowed_user_ids
        if allowed and message.user_id not in allowed:
            return [NOT_ALLOWED]
        text = (message.text or "").strip()
        if not text:
            return ["I can only read text messages for now."]
        command = text.split()[0].split("@")[0].lower() if text.startswith("/") else None
        if command == "/start":
            return [f"Hi! I'm {self.config.current.clone.name}. Ask me anything.\n\n{HELP}"]
        if command == "/help":
            return [HELP]
        if command == "/reset":
            await self.store.reset(message.bot_id, message.chat_id)
            return ["Started a new conversation."]
        if command == "/memory":
            return await self._memory(message)
        if command == "/forget":
            return await self._forget(message, text.split()[1:])
        if command is not None:
            return [f"I don't know the command {command}.\n\n{HELP}"]
        return await self._answer(message, text)

    def _person(self, message: IncomingMessage) -> str | None:
        """Whose memories: the author of the message (in a group too), per bot."""
        return telegram_person(message.bot_id, message.user_id) if message.user_id is not None else None

    async def _memory(self, message: IncomingMessage) -> list[str]:
        person = self._person(message)
        if person is None or not self.memory.on_for(person, CHANNEL):
            return ["I don't keep memories of conversations here."]
        records = await self.memory.records(person, limit=MEMORY_LIST)
        if not records:
            return ["I don't remember anything about you yet."]
        lines = []
        for record in records:
            text = " ".join(record.text.split())
            if len(text) > MEMORY_LINE_CHARS:
                text = text[:MEMORY_LINE_CHARS] + "…"
            lines.append(f"{record.at:%Y-%m-%d}{' *' if record.pinned else ''} {text}")
        return split_message("What I remember about you (newest first):\n\n" + "\n\n".join(lines))

    async def _forget(self, message: IncomingMessage, words: list[str]) -> list[str]:
        person = self._person(message)
        if person is None or self.memory.store is None:
            return ["I don't keep memories of conversations here."]
        if not words or words[0].lower() not in FORGET_WORDS:
            return ["This erases everything I remember about you, for good. To go ahead, send: /forget yes"]
        deleted = await self.memory.delete_all(person)
        return [f"Done: I forgot everything I remembered about you ({deleted})."]

    async def _answer(self, message: IncomingMessage, text: str) -> list[str]:
        limit = self.config.current.limits.max_message_chars
        if len(text) > limit:
            return [f"That message is too long for me ({len(text)} characters; the limit is {limit})."]
        existing = await self.store.conversation_for(message.bot_id, message.chat_id)
        params = self.chat.sampling_params()
        try:
            try:
                conversation_id, generation = await self.chat.start_conversation_turn(
                    text, existing, params, CHANNEL, person=self._person(message)
                )
            except ConversationNotFoundError:  # deleted in the admin panel: start afresh
                conversation_id, generation = await self.chat.start_conversation_turn(
                    text, None, params, CHANNEL, person=self._person(message)
                )
            try:
                async for _ in generation.chunks():
                    pass
            finally:
                await self.chat.finish_conversation_turn(conversation_id, generation)
        except ContextOverflowError:
            return ["That message is too long for me to answer. Could you shorten it?"]
        except EngineBusyError:
            return ["Many people are talking to me right now. Please write again in a minute."]
        except EngineError as exc:
            log.warning("telegram answer failed: %s", exc)
            return ["Sorry, I can't answer right now. Please try again in a moment."]
        await self.store.set_conversation(message.bot_id, message.chat_id, conversation_id)
        return split_message(generation.text) or ["…"]
