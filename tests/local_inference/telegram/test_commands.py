"""The bot's one router (``telegram/commands.py``): which reply each message gets, decided once by
aiogram's filters. Driven in-process through the relay's path (a message the gateway relayed); the
polling path feeds the same router (``test_polling.py``, against the Bot API emulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.telegram.bot_client import make_bot
from aiclone_agent.telegram.relayed import answer_relayed, relay_dispatcher
from aiclone_agent.telegram.responder import HELP, NOT_ALLOWED, TelegramResponder
from aiclone_agent.telegram.store import TelegramStore
from aiclone_wire import TelegramMessage

BOT_ID = 123456789
ALLOWED, STRANGER = 7, 8


class AnsweringResponder(TelegramResponder):
    """The clone's answer stands in for the model: what reaches ``answer`` is what is tested here."""

    asked: list[str]

    async def answer(self, bot_id: int, chat_id: int, text: str, user_id: int | None = None) -> list[str]:
        self.asked.append(text)
        return [f"answer to {text}"]


@pytest.fixture
async def ask(tmp_path: Path) -> AsyncIterator:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {"clone": {"name": "Captain Nemo"}, "messengers": {"telegram": {"allowed_user_ids": [ALLOWED]}}}
        ),
        encoding="utf-8",
    )
    store = TelegramStore(tmp_path / "telegram.sqlite3")
    settings = ConfigStore(config)
    responder = AnsweringResponder(chat=None, memory=ChatMemory(None, settings), store=store, config=settings)  # type: ignore[arg-type]
    responder.asked = []
    dispatcher = relay_dispatcher(responder)
    bot = make_bot(f"{BOT_ID}:never-sent-to-telegram", "http://127.0.0.1:9")  # no Bot API call is made

    async def send(text: str, user_id: int | None = ALLOWED, chat_id: int = 501) -> list[str]:
        message = TelegramMessage(bot_id=BOT_ID, chat_id=chat_id, user_id=user_id, text=text)
        return await answer_relayed(dispatcher, bot, message)

    send.responder = responder  # type: ignore[attr-defined]
    send.store = store  # type: ignore[attr-defined]
    yield send
    await bot.session.close()


async def test_start_and_help_with_or_without_the_bots_name_and_in_any_case(ask):
    (greeting,) = await ask("/start")
    assert greeting.startswith("Hi! I'm Captain Nemo.") and greeting.endswith(HELP)
    assert await ask("/START@nemo_clone_bot") == [greeting]
    assert await ask("/help") == [HELP]
    assert await ask("/Help@any_bot extra words") == [HELP]


async def test_reset_forgets_the_chats_conversation(ask):
    await ask.store.set_conversation(BOT_ID, 501, "c1")
    assert await ask("/reset") == ["Started a new conversation."]
    assert await ask.store.conversation_for(BOT_ID, 501) is None


async def test_an_unknown_command_is_named_and_not_sent_to_the_model(ask):
    assert await ask("/Weather tomorrow") == [f"I don't know the command /weather.\n\n{HELP}"]
    assert await ask("/") == [f"I don't know the command /.\n\n{HELP}"]
    assert ask.responder.asked == []


async def test_text_goes_to_the_clone_stripped_and_no_text_is_said_so(ask):
    assert await ask("  Where do I live?  ") == ["answer to Where do I live?"]
    assert await ask("   ") == ["I can only read text messages for now."]
    assert await ask("") == ["I can only read text messages for now."]
    assert ask.responder.asked == ["Where do I live?"]


async def test_someone_outside_the_allowlist_gets_the_refusal_for_everything(ask):
    for text in ("/start", "/reset", "hello", ""):
        assert await ask(text, user_id=STRANGER) == [NOT_ALLOWED]
    assert await ask("hello", user_id=None) == [NOT_ALLOWED]
    assert ask.responder.asked == []
