"""Long-term memory in the chat: a fact told in one conversation is recalled in a new one, put in
the prompt the real engine gets and listed in the answer's ``memories``; a channel whose profile
says ``memory: off`` (the API's default) writes and recalls nothing."""

from __future__ import annotations

import json

from aiclone_agent.chat.template import Message
from tests.support.sse import parse_sse

FACT = "Remember that my dog's name is Barnaby."
QUESTION = "What is my dog's name?"


async def _tell(agent, message: str = FACT) -> dict:
    response = await agent.client.post("/api/chat/test", json={"message": message})
    assert response.status_code == 200, response.text
    return response.json()


async def _memories(agent) -> list[dict]:
    return (await agent.client.get("/api/memories")).json()["memories"]


async def _set_memory(agent, channel: str, memory: str) -> None:
    profile = (await agent.client.get("/api/channels")).json()[channel]
    response = await agent.client.put("/api/channels", json={channel: {**profile, "memory": memory}})
    assert response.json()[channel]["memory"] == memory


async def test_a_fact_told_in_one_conversation_is_recalled_in_a_new_one(agent, spy_prompts):
    told = await _tell(agent)
    assert told["memories"] == []  # nothing remembered yet
    (kept,) = await _memories(agent)
    assert kept["person"] == "owner" and kept["channel"] == "owner" and kept["pinned"] is True
    assert kept["conversation_id"] == told["conversation_id"] and "Barnaby" in kept["text"]

    asked = await agent.client.post("/api/chat/test", json={"message": QUESTION})
    body = asked.json()
    assert body["conversation_id"] != told["conversation_id"]
    assert [m["id"] for m in body["memories"]] == [kept["id"]]
    assert body["memories"][0]["text"] == kept["text"] and body["memories"][0]["at"]
    prompt = spy_prompts[-1]
    # its own block: after the persona, before the question
    assert "Barnaby" in prompt and prompt.index("Barnaby") < prompt.index(QUESTION)

    streamed = await agent.client.post("/api/chat/stream", json={"message": QUESTION})
    done = parse_sse(streamed.text)[-1]
    assert done["done"] is True
    assert kept["id"] in [m["id"] for m in done["memories"]]


async def test_this_conversations_turns_in_the_window_are_not_recalled_again(agent, spy_prompts):
    told = await _tell(agent)
    again = await agent.client.post(
        "/api/chat/test", json={"message": QUESTION, "conversation_id": told["conversation_id"]}
    )
    assert again.json()["memories"] == []  # the fact is in the history the prompt already holds
    assert spy_prompts[-1].count("Barnaby") == 1


async def test_memory_off_writes_and_recalls_nothing(agent, spy_prompts):
    await _tell(agent)  # remembered while on
    await _set_memory(agent, "owner", "off")
    await _tell(agent, "Remember that my cat's name is Whiskerton.")
    assert ["Whiskerton" in m["text"] for m in await _memories(agent)] == [False]
    asked = (await agent.client.post("/api/chat/test", json={"message": QUESTION})).json()
    assert asked["memories"] == []
    assert "Barnaby" not in spy_prompts[-1]
    await _set_memory(agent, "owner", "on")
    asked = (await agent.client.post("/api/chat/test", json={"message": QUESTION})).json()
    assert len(asked["memories"]) == 1


async def test_the_openai_api_remembers_only_when_its_channel_is_switched_on(agent):
    model = (await agent.client.get("/v1/models")).json()["data"][0]["id"]

    async def complete(content: str) -> dict:
        body = {"model": model, "messages": [{"role": "user", "content": content}]}
        response = await agent.client.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    off = await complete(FACT)  # the api profile's default: off
    assert off["memories"] == [] and await _memories(agent) == []
    await _set_memory(agent, "api", "on")
    await complete(FACT)
    (kept,) = await _memories(agent)
    assert kept["channel"] == "api" and kept["person"] == "owner" and kept["conversation_id"] is None
    answer = await complete(QUESTION)
    assert [m["id"] for m in answer["memories"]] == [kept["id"]]
    assert answer["sources"] == []

    body = {"model": model, "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    streamed = await agent.client.post("/v1/chat/completions", json=body)
    chunks = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
    final = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"])
    assert [m["id"] for m in final["memories"]] == [kept["id"]]
    assert "memories" not in chunks[0]  # known only at the end


async def test_this_conversations_turns_that_no_longer_fit_the_window_are_recalled(agent, spy_prompts):
    told = await _tell(agent)
    conversation = told["conversation_id"]
    chat = agent.runtime.chat
    sentence = "The weather report for the coast says nothing new today. "

    def dropped(filler: str) -> int:
        """Messages the window leaves out when the question follows the filler's turn."""
        turns = [FACT, told["answer"], filler, "Ok", QUESTION]
        messages = [Message("user" if i % 2 == 0 else "assistant", text) for i, text in enumerate(turns)]
        return chat.prepare(messages, chat.sampling_params(), "owner").fitted.dropped

    filler = sentence
    while dropped(filler) < 2:  # the first turn no longer fits; the filler's still does
        filler += sentence
    assert dropped(filler) == 2
    # a one-token answer, as the stand-in above
    await agent.client.post(
        "/api/chat/test", json={"message": filler, "conversation_id": conversation, "max_tokens": 1}
    )

    asked = await agent.client.post(
        "/api/chat/test", json={"message": QUESTION, "conversation_id": conversation}
    )
    memories = asked.json()["memories"]
    assert [m["conversation_id"] for m in memories] == [conversation], memories
    assert "Barnaby" in memories[0]["text"] and "Barnaby" in spy_prompts[-1]
