"""What the clone says to a Telegram message, independent of how the message arrived.

Polling (aiogram on the agent) and webhook delivery (the gateway relays the message over the
link) both call ``TelegramResponder.respond`` and send back the returned texts in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


@dataclass(frozen=True)
class IncomingMessage:
    bot_id: int
    chat_id: int
    user_id: int | None
    text: str | None


class TelegramResponder:
    def __init__(self, chat: ChatService, store: TelegramStore, config: ConfigStore) -> None:
        self.chat = chat
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
        if command is not None:
            return [f"I don't know the command {command}.\n\n{HELP}"]
        return await self._answer(message, text)

    async def _answer(self, message: IncomingMessage, text: str) -> list[str]:
        limit = self.config.current.limits.max_message_chars
        if len(text) > limit:
            return [f"That message is too long for me ({len(text)} characters; the limit is {limit})."]
        existing = await self.store.conversation_for(message.bot_id, message.chat_id)
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
        await self.store.set_conversation(message.bot_id, message.chat_id, conversation_id)
        return split_message(generation.text) or ["…"]
