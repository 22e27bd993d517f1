"""Conversation history: listing, reading, deleting, and surviving an agent restart."""

from __future__ import annotations

import httpx


async def test_list_get_delete(agent):
    created = (await agent.client.post("/api/chat/test", json={"message": "Hello there"})).json()
    listing = (await agent.client.get("/api/conversations")).json()
    assert [c["id"] for c in listing] == [created["conversation_id"]]
    assert listing[0]["title"] == "Hello there"
    assert listing[0]["message_count"] == 2

    deleted = await agent.client.delete(f"/api/conversations/{created['conversation_id']}")
    assert deleted.status_code == 204
    assert (await agent.client.get(f"/api/conversations/{created['conversation_id']}")).status_code == 404
    assert (await agent.client.delete(f"/api/conversations/{created['conversation_id']}")).status_code == 404
    assert (await agent.client.get("/api/conversations")).json() == []


def test_history_survives_an_agent_restart(agent_process):
    with httpx.Client(base_url=agent_process.url, timeout=60) as client:
        first = client.post("/api/chat/test", json={"message": "Remember the number 7341."}).json()
    agent_process.stop()
    agent_process.start()
    with httpx.Client(base_url=agent_process.url, timeout=60) as client:
        detail = client.get(f"/api/conversations/{first['conversation_id']}").json()
        assert [m["content"] for m in detail["messages"]] == ["Remember the number 7341.", first["answer"]]
        follow_up = client.post(
            "/api/chat/test", json={"message": "Which number?", "conversation_id": first["conversation_id"]}
        )
        assert follow_up.status_code == 200
        assert client.get(f"/api/conversations/{first['conversation_id']}").json()["message_count"] == 4


async def test_search_finds_by_title_and_by_message_text(agent):
    first = (await agent.client.post("/api/chat/test", json={"message": "Tell me about otters"})).json()
    await agent.client.post("/api/chat/test", json={"message": "Plan a 100% walk_in the park"})
    await agent.client.post(
        "/api/chat/test",
        json={"message": "And about kingfishers too", "conversation_id": first["conversation_id"]},
    )

    async def titles(q: str) -> list[str]:
        response = await agent.client.get("/api/conversations", params={"q": q})
        return [c["title"] for c in response.json()]

    assert await titles("OTTERS") == ["Tell me about otters"]
    assert await titles("kingfisher") == ["Tell me about otters"]  # found in a later message
    assert await titles("100%") == ["Plan a 100% walk_in the park"]  # % and _ are literal
    assert await titles("10_%") == []
    assert len(await titles("")) == 2


async def test_rename_round_trips_and_refuses_a_blank_title(agent):
    created = (await agent.client.post("/api/chat/test", json={"message": "Hello there"})).json()
    url = f"/api/conversations/{created['conversation_id']}"
    renamed = await agent.client.patch(url, json={"title": "Greetings"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Greetings"
    assert (await agent.client.get(url)).json()["title"] == "Greetings"
    for bad in ({"title": "   "}, {"title": ""}, {"name": "x"}):
        refused = await agent.client.patch(url, json=bad)
        assert refused.status_code == 400, bad
    assert (await agent.client.get(url)).json()["title"] == "Greetings"
    assert (await agent.client.patch("/api/conversations/nope", json={"title": "x"})).status_code == 404


async def test_regenerate_forgets_the_old_turn_and_the_model_sees_only_the_new_one(agent, spy_prompts):
    first = (await agent.client.post("/api/chat/test", json={"message": "First question"})).json()
    conversation = first["conversation_id"]
    await agent.client.post(
        "/api/chat/test", json={"message": "Second question", "conversation_id": conversation}
    )
    url = f"/api/conversations/{conversation}"
    # Edit and resend the second question: keep the first turn only, then ask the new text.
    assert (await agent.client.delete(f"{url}/messages", params={"keep": 2})).status_code == 204
    assert [m["content"] for m in (await agent.client.get(url)).json()["messages"]] == [
        "First question",
        first["answer"],
    ]
    await agent.client.post(
        "/api/chat/test", json={"message": "Edited question", "conversation_id": conversation}
    )
    assert "Edited question" in spy_prompts[-1] and "Second question" not in spy_prompts[-1]
    assert "First question" in spy_prompts[-1]
    messages = (await agent.client.get(url)).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[2]["content"] == "Edited question"
    assert (await agent.client.delete(f"{url}/messages", params={"keep": -1})).status_code == 400
    assert (
        await agent.client.delete("/api/conversations/nope/messages", params={"keep": 0})
    ).status_code == 404
