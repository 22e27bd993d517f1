"""Telegram and long-term memory: each user of a bot is their own person (in a group, the author),
``/memory`` lists what the clone remembers about them, ``/forget`` erases it after a confirmation;
the other user's memories are neither recalled, listed nor erased."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from aiclone_agent.telegram.bot_client import make_bot
from aiclone_agent.telegram.relayed import answer_relayed, relay_dispatcher
from aiclone_wire import TelegramMessage

BOT = 4242
GROUP = -100123


@pytest.fixture
async def responder(agent) -> AsyncIterator[Callable[[int, str], Awaitable[list[str]]]]:
    """The agent's own responder behind the commands' router, as a relayed message reaches it."""
    dispatcher = relay_dispatcher(agent.runtime.telegram.responder)
    bot = make_bot(f"{BOT}:never-sent-to-telegram", "http://127.0.0.1:9")  # no Bot API call is made

    async def send(user_id: int, text: str, chat_id: int | None = None) -> list[str]:
        message = TelegramMessage(bot_id=BOT, chat_id=chat_id or user_id, user_id=user_id, text=text)
        return await answer_relayed(dispatcher, bot, message)

    yield send
    await bot.session.close()


async def test_two_users_of_one_bot_keep_apart_and_forget_erases_only_ones_own(agent, spy_prompts, responder):
    memory = agent.runtime.chat.memory
    await responder(1, "My locker code is 5813.")
    await responder(2, "I play the oboe in an orchestra.")
    # in a group, the author's
    await responder(1, "Remember that I am allergic to walnuts.", chat_id=GROUP)

    assert len(await memory.records("telegram:4242:1")) == 2
    assert len(await memory.records("telegram:4242:2")) == 1

    await responder(2, "What is my locker code?")
    assert "5813" not in spy_prompts[-1]  # the other user's memory is never recalled
    (listing,) = await responder(1, "/memory")
    assert "walnuts" in listing and "5813" in listing and "oboe" not in listing

    (ask,) = await responder(1, "/forget")
    assert "/forget yes" in ask
    assert len(await memory.records("telegram:4242:1")) == 2  # nothing erased without the word
    (done,) = await responder(1, "/forget yes")
    assert "(2)" in done
    assert await memory.records("telegram:4242:1") == []
    assert len(await memory.records("telegram:4242:2")) == 2  # the other user's stay
    (empty,) = await responder(1, "/memory")
    assert "don't remember anything" in empty


async def test_a_new_conversation_recalls_an_earlier_ones_fact(agent, spy_prompts, responder):
    await responder(5, "My locker code is 5813.")
    await responder(5, "/reset")
    await responder(5, "What is my locker code?")
    assert "5813" in spy_prompts[-1]
