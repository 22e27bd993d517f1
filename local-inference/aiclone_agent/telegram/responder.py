"""What the clone says on Telegram, independent of how a message arrived: one method per thing
the bot can say. Which one a message gets is decided once, by the commands' router
(``telegram/commands.py``); each returns the replies to send, in order.
"""

from __future__ import annotations

import logging

from aiclone_agent.chat.context import ContextOverflowError
from aiclone_agent.chat.service import ChatService, ConversationNotFoundError
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.engine.base import EngineBusyError, EngineError
from aiclone_agent.telegram.splitting import split_message
from aiclone_agent.telegram.store import TelegramStore

CHANNEL = "telegram"
HELP = (
    "Just write to me and I will answer.\n\n"
    "/reset - start a new conversation (I forget what we said)\n"
    "/help - this message"
)
NOT_ALLOWED = "Sorry, this bot only talks to people its owner has allowed."
log = logging.getLogger(__name__)


class TelegramResponder:
    def __init__(self, chat: ChatService, store: TelegramStore, config: ConfigStore) -> None:
        self.chat = chat
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

    async def answer(self, bot_id: int, chat_id: int, text: str) -> list[str]:
        """The clone's answer to ``text`` in this chat's conversation, as replies within Telegram's
        4,096-character limit."""
        limit = self.config.current.limits.max_message_chars
        if len(text) > limit:
            return [f"That message is too long for me ({len(text)} characters; the limit is {limit})."]
        existing = await self.store.conversation_for(bot_id, chat_id)
        params = self.chat.sampling_params()
        try:
            try:
                conversation_id, generation = await self.chat.start_conversation_turn(text, existing, params, CHANNEL)
            except ConversationNotFoundError:  # deleted in the admin panel: start afresh
                conversation_id, generation = await self.chat.start_conversation_turn(text, None, params, CHANNEL)
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
        await self.store.set_conversation(bot_id, chat_id, conversation_id)
        return split_message(generation.text) or ["…"]
