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
