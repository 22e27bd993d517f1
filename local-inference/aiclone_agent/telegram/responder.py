"""What the clone says on Telegram, independent of how a message arrived: one method per thing
the bot can say. Which one a message gets is decided once, by the commands' router
(``telegram/commands.py``); each returns the replies to send, in order.
"""

from __future__ import annotations

import logging

from aiclone_agent.chat.context import ContextOverflowError
from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.chat.service import ChatService, ConversationNotFoundError, ConversationNotSavedError
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


def _person(bot_id: int, user_id: int | None) -> str | None:
    """Whose memories: the author of the message (in a group too), per bot."""
    return telegram_person(bot_id, user_id) if user_id is not None else None


class TelegramResponder:
    def __init__(
        self, chat: ChatService, memory: ChatMemory, store: TelegramStore, config: ConfigStore
    ) -> None:
        self.chat = chat
        # /memory and /forget: the Telegram user's own memories
        self.memory = memory
        self.store = store
        self.config = config

    def allows(self, user_id: int | None) -> bool:
        allowed = self.config.current.messengers.telegram.allowed_user_ids
        return not allowed or user_id in allowed

    def not_allowed(self) -> list[str]:
        return [NOT_ALLOWED]

    def greeting(self) -> list[str]:
        return [f"Hi! I'm {self.config.current.clone.name}. Ask me anything.\n\n{HELP}"]

    def help(self) -> list[str]:
        return [HELP]

    def unknown_command(self, command: str) -> list[str]:
        return [f"I don't know the command {command.lower()}.\n\n{HELP}"]

    def text_only(self) -> list[str]:
        return ["I can only read text messages for now."]

    async def reset(self, bot_id: int, chat_id: int) -> list[str]:
        await self.store.reset(bot_id, chat_id)
        return ["Started a new conversation."]

    async def memories(self, bot_id: int, user_id: int | None) -> list[str]:
        """/memory: what the clone remembers about the author, newest first."""
        person = _person(bot_id, user_id)
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

    async def forget(self, bot_id: int, user_id: int | None, words: list[str]) -> list[str]:
        """/forget: erase everything remembered about the author, once they confirm (``/forget yes``)."""
        person = _person(bot_id, user_id)
        if person is None or self.memory.store is None:
            return ["I don't keep memories of conversations here."]
        if not words or words[0].lower() not in FORGET_WORDS:
            return ["This erases everything I remember about you, for good. To go ahead, send: /forget yes"]
        deleted = await self.memory.delete_all(person)
        return [f"Done: I forgot everything I remembered about you ({deleted})."]

    async def answer(self, bot_id: int, chat_id: int, text: str, user_id: int | None = None) -> list[str]:
        """The clone's answer to ``text`` in this chat's conversation, as replies within Telegram's
        4,096-character limit; ``user_id``: the author, whose memories are recalled and written."""
        person = _person(bot_id, user_id)
        limit = self.config.current.limits.max_message_chars
        if len(text) > limit:
            return [f"That message is too long for me ({len(text)} characters; the limit is {limit})."]
        existing = await self.store.conversation_for(bot_id, chat_id)
        params = self.chat.sampling_params()
        try:
            try:
                conversation_id, generation = await self.chat.start_conversation_turn(
                    text, existing, params, CHANNEL, person=person
                )
            except ConversationNotFoundError:  # deleted in the admin panel: start afresh
                conversation_id, generation = await self.chat.start_conversation_turn(
                    text, None, params, CHANNEL, person=person
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
        except (EngineError, ConversationNotSavedError) as exc:
            log.warning("telegram answer failed: %s", exc)
            return ["Sorry, I can't answer right now. Please try again in a moment."]
        await self.store.set_conversation(bot_id, chat_id, conversation_id)
        return split_message(generation.text) or ["…"]
