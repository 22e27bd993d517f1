"""The Telegram bot end to end in polling mode: aiogram against the Bot API emulator, real model."""

from __future__ import annotations

import asyncio
import logging

import yaml

from aiclone_agent.chat.memories import MEMORY_HEADER
from aiclone_agent.engine.base import GenerationChunk
from tests.support.fixtures.telegram import OTHER_TOKEN, TOKEN

CHAT = 501


async def enable(agent, token: str = TOKEN, **extra):
    response = await agent.client.put(
        "/api/messengers/telegram", json={"enabled": True, "bots": [{"token": token}], **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_enable_validates_the_token_and_answers_with_the_local_model(
    tg_agent, bot_api, spy_prompts, caplog
):
    caplog.set_level(logging.DEBUG)
    state = await enable(tg_agent)
    assert state["enabled"] is True
    assert state["delivery"] == "polling"
    assert state["status"] == "running"
    assert state["bots"][0]["bot_id"] == "123456789"
    assert TOKEN not in str(state) and state["bots"][0]["token"].endswith("-one")
    assert bot_api.calls_of("getMe", TOKEN)
    assert bot_api.calls_of("deleteWebhook", TOKEN)  # polling needs the webhook gone

    bot_api.push_message(TOKEN, "/start", chat_id=CHAT)
    await bot_api.wait_for(lambda: len(bot_api.messages_to(CHAT)) >= 1)
    assert "Captain Nemo" in bot_api.messages_to(CHAT)[0]

    bot_api.push_message(TOKEN, "My favourite colour is turquoise.", chat_id=CHAT)
    await bot_api.wait_for(lambda: len(bot_api.messages_to(CHAT)) >= 2)
    first_answer = bot_api.messages_to(CHAT)[1]
    assert first_answer.strip()
    assert bot_api.calls_of("sendChatAction", TOKEN)[0].params["action"] == "typing"
    assert "My favourite colour is turquoise." in spy_prompts[-1]

    bot_api.push_message(TOKEN, "What is my favourite colour?", chat_id=CHAT)
    await bot_api.wait_for(lambda: len(bot_api.messages_to(CHAT)) >= 3)
    history_prompt = spy_prompts[-1]
    assert history_prompt.index("turquoise") < history_prompt.index("What is my favourite colour?")

    conversations = (await tg_agent.client.get("/api/conversations")).json()
    assert [c["channel"] for c in conversations] == ["telegram"]
    assert conversations[0]["message_count"] == 4
    assert TOKEN not in caplog.text


async def test_each_chat_is_its_own_conversation_and_reset_starts_anew(tg_agent, bot_api, spy_prompts):
    await enable(tg_agent)
    bot_api.push_message(TOKEN, "I live in Lisbon.", chat_id=1, user_id=1)
    await bot_api.wait_for(lambda: bot_api.messages_to(1))
    bot_api.push_message(TOKEN, "Where do I live?", chat_id=2, user_id=2)
    await bot_api.wait_for(lambda: bot_api.messages_to(2))
    assert "Lisbon" not in spy_prompts[-1]

    bot_api.push_message(TOKEN, "/reset", chat_id=1, user_id=1)
    await bot_api.wait_for(lambda: len(bot_api.messages_to(1)) >= 2)
    assert "new conversation" in bot_api.messages_to(1)[1]
    bot_api.push_message(TOKEN, "Where do I live?", chat_id=1, user_id=1)
    await bot_api.wait_for(lambda: len(bot_api.messages_to(1)) >= 3)
    # a new conversation: the earlier turn is not in its history, only recalled as this user's memory
    prompt = spy_prompts[-1]
    assert prompt.count("I live in Lisbon.") == 1 and prompt.index(MEMORY_HEADER) < prompt.index("Lisbon")
    assert len((await tg_agent.client.get("/api/conversations")).json()) == 3


async def test_a_redelivered_update_is_answered_once(tg_agent, bot_api):
    await enable(tg_agent)
    update_id = bot_api.push_message(TOKEN, "Hello!", chat_id=CHAT)
    await bot_api.wait_for(lambda: bot_api.messages_to(CHAT))
    state = bot_api.bots[TOKEN]
    await bot_api.wait_for(lambda: state.confirmed >= update_id)
    state.confirmed = update_id - 1  # Telegram hands the same update out again
    state.new_update.set()
    await bot_api.wait_for(lambda: len(bot_api.calls_of("getUpdates", TOKEN)) > 4)
    assert len(bot_api.messages_to(CHAT)) == 1


async def test_disable_and_enable_live_lose_nothing(tg_agent, bot_api):
    await enable(tg_agent)
    answered = bot_api.push_message(TOKEN, "First!", chat_id=CHAT)
    await bot_api.wait_for(lambda: bot_api.messages_to(CHAT))
    response = await tg_agent.client.put(
        "/api/messengers/telegram", json={"enabled": False, "bots": [{"token": "123456789:***-one"}]}
    )
    assert response.json()["status"] == "disabled"
    polls = len(bot_api.calls_of("getUpdates", TOKEN))
    bot_api.push_message(TOKEN, "Are you there?", chat_id=CHAT)
    # the PUT answered after polling had stopped and confirmed: no call can follow it
    assert bot_api.bots[TOKEN].confirmed >= answered  # the answered update will not come back
    assert len(bot_api.calls_of("getUpdates", TOKEN)) == polls  # really stopped
    assert len(bot_api.messages_to(CHAT)) == 1
    saved = yaml.safe_load(tg_agent.config_path.read_text())["messengers"]["telegram"]
    assert (
        saved["enabled"] is False and saved["bots"][0]["token"] == TOKEN
    )  # the masked token kept the real one

    await tg_agent.client.put(
        "/api/messengers/telegram", json={"enabled": True, "bots": [{"token": "123456789:***-one"}]}
    )
    await bot_api.wait_for(lambda: len(bot_api.messages_to(CHAT)) >= 2)  # the message sent while off
    # Polling answers one update at a time, in order: once /help is answered, an update answered
    # twice would have been answered before it.
    bot_api.push_message(TOKEN, "/help", chat_id=CHAT)
    await bot_api.wait_for(lambda: len(bot_api.messages_to(CHAT)) >= 3)
    assert len(bot_api.messages_to(CHAT)) == 3 and "/reset" in bot_api.messages_to(CHAT)[2]


async def test_put_accepts_what_get_returns(tg_agent, bot_api):
    shown = await enable(tg_agent, allowed_user_ids=[42])
    saved = tg_agent.config_path.read_bytes()
    again = await tg_agent.client.put("/api/messengers/telegram", json=shown)
    assert again.status_code == 200, again.text
    assert {**again.json(), "status": None} == {**shown, "status": None}
    assert yaml.safe_load(tg_agent.config_path.read_bytes()) == yaml.safe_load(saved)
    # the read-only parts may only repeat what they are
    moved = await tg_agent.client.put(
        "/api/messengers/telegram", json={**shown, "api_url": "http://169.254.169.254"}
    )
    assert moved.status_code == 400 and moved.json()["error"]["param"] == "api_url"
    other = {**shown, "bots": [{**shown["bots"][0], "bot_id": "999"}]}
    swapped = await tg_agent.client.put("/api/messengers/telegram", json=other)
    assert swapped.status_code == 400 and "999" in swapped.json()["error"]["message"]
    assert tg_agent.config_path.read_bytes() == saved


async def test_bad_tokens_are_clear_errors_and_change_nothing(tg_agent, bot_api):
    original = tg_agent.config_path.read_bytes()
    cases = [
        (
            "555:unknown-token-abcdefghijklmnopqrstuvwxyz",
            "rejected this bot token",
            "telegram_token_rejected",
        ),
        ("not a token", "not a bot token", "telegram_token_malformed"),
    ]
    for token, needle, code in cases:
        response = await tg_agent.client.put(
            "/api/messengers/telegram", json={"enabled": True, "bots": [{"token": token}]}
        )
        assert response.status_code == 400
        assert needle in response.json()["error"]["message"]
        assert response.json()["error"]["code"] == code  # what the admin translates
    response = await tg_agent.client.put("/api/messengers/telegram", json={"enabled": True, "bots": []})
    assert response.status_code == 400
    assert tg_agent.config_path.read_bytes() == original
    assert (await tg_agent.client.get("/api/messengers/telegram")).json()["status"] == "disabled"


async def test_an_unreachable_bot_api_is_a_code_and_aiohttps_words_go_to_the_log(tg_agent, bot_api, caplog):
    """The admin shows a sentence for ``telegram_unreachable``; "Cannot connect to host ..." (aiohttp,
    through aiogram) is for the log, never in the answer or the status a page reads."""
    await enable(tg_agent)
    await bot_api.wait_for(lambda: bot_api.calls_of("getUpdates"))  # polling runs
    await bot_api.stop()  # the Bot API is gone: the token check and the running bot cannot reach it
    with caplog.at_level(logging.WARNING, logger="aiclone_agent.telegram.service"):
        refused = await tg_agent.client.put(
            "/api/messengers/telegram", json={"enabled": True, "bots": [{"token": OTHER_TOKEN}]}
        )
    error = refused.json()["error"]
    assert (refused.status_code, error["code"], error["params"]) == (
        400,
        "telegram_unreachable",
        {"api_url": bot_api.url},
    )
    assert "Cannot connect" not in error["message"] and "Client" not in error["message"]
    assert any("Cannot connect" in record.getMessage() for record in caplog.records)

    async def polling_failed() -> dict:
        for _ in range(600):
            shown = (await tg_agent.client.get("/api/messengers/telegram")).json()
            if shown["last_error_code"]:
                return shown
            await asyncio.sleep(0.1)
        raise AssertionError("the running bot never reported the Bot API unreachable")

    assert (await polling_failed())["last_error_code"] == "telegram_unreachable"


async def test_allowlist_refuses_strangers(tg_agent, bot_api):
    await enable(tg_agent, allowed_user_ids=[42])
    bot_api.push_message(TOKEN, "Hi, I'm a stranger", chat_id=7, user_id=7)
    bot_api.push_message(TOKEN, "Hi, I'm the owner", chat_id=42, user_id=42)
    await bot_api.wait_for(lambda: bot_api.messages_to(7) and bot_api.messages_to(42))
    assert "only talks to people its owner has allowed" in bot_api.messages_to(7)[0]
    assert "only talks" not in bot_api.messages_to(42)[0]


async def test_long_answer_is_split_into_telegram_sized_messages(tg_agent, bot_api, engine, monkeypatch):
    long_answer = "\n\n".join(f"Part {i}. " + "The sea is deep and wide. " * 60 for i in range(6))

    async def long_generation(self, prompt, params, request_id, channel="api"):
        yield GenerationChunk(long_answer, 10, 900, finish_reason="stop")

    monkeypatch.setattr(type(engine), "generate", long_generation)  # the model cannot write this much on cue
    await enable(tg_agent)
    bot_api.push_message(TOKEN, "Tell me everything about the sea.", chat_id=CHAT)
    await bot_api.wait_for(lambda: sum(len(t) for t in bot_api.messages_to(CHAT)) >= len(long_answer) - 100)
    parts = bot_api.messages_to(CHAT)
    assert len(parts) >= 3
    assert all(len(p) <= 4096 for p in parts)
    assert all(p.startswith("Part ") for p in parts)
    assert all("parse_mode" not in c.params for c in bot_api.calls_of("sendMessage", TOKEN))
