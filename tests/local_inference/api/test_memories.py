"""``/api/memories``: the owner lists every person's memories (with whose they are), searches, pins,
erases one or a person's all, and exports them; memories survive a restart and an erasure
survives kill -9 (a real agent process)."""

from __future__ import annotations

import signal

import httpx
import pytest


async def _remember_for_others(agent) -> None:
    """Rounds of two Telegram users of one bot (the chat service writes them as for anyone)."""
    responder = agent.runtime.telegram.responder
    for user_id, text in ((7, "My favourite colour is teal."), (8, "I live in Tromsø.")):
        await responder.answer(42, user_id, text, user_id)


async def test_the_owner_lists_searches_pins_deletes_and_exports(agent):
    told = await agent.client.post("/api/chat/test", json={"message": "My bicycle is a green Brompton."})
    assert told.status_code == 200
    await _remember_for_others(agent)

    page = (await agent.client.get("/api/memories")).json()
    assert {p["person"]: p["count"] for p in page["persons"]} == {
        "owner": 1,
        "telegram:42:7": 1,
        "telegram:42:8": 1,
    }
    assert {m["person"] for m in page["memories"]} == {"owner", "telegram:42:7", "telegram:42:8"}
    mine = (await agent.client.get("/api/memories", params={"person": "owner"})).json()["memories"]
    assert [m["person"] for m in mine] == ["owner"] and "Brompton" in mine[0]["text"]
    found = (await agent.client.get("/api/memories", params={"q": "Tromsø"})).json()["memories"]
    assert found[0]["person"] == "telegram:42:8"
    paged = (await agent.client.get("/api/memories", params={"limit": 1, "offset": 1})).json()["memories"]
    assert len(paged) == 1

    pinned = await agent.client.patch(f"/api/memories/{mine[0]['id']}", json={"pinned": True})
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    listed = (await agent.client.get("/api/memories", params={"person": "owner"})).json()["memories"]
    assert listed[0]["pinned"] is True

    exported = await agent.client.get("/api/memories/export", params={"person": "telegram:42:7"})
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    dump = exported.json()
    assert dump["person"] == "telegram:42:7" and [m["person"] for m in dump["memories"]] == ["telegram:42:7"]
    assert "teal" in dump["memories"][0]["text"]

    deleted = await agent.client.delete(f"/api/memories/{mine[0]['id']}")
    assert deleted.status_code == 204
    again = await agent.client.delete(f"/api/memories/{mine[0]['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "memory_not_found"
    missing = await agent.client.patch("/api/memories/m_0000000000000000", json={"pinned": True})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "memory_not_found"
    erased = await agent.client.delete("/api/memories", params={"person": "telegram:42:8"})
    assert erased.json() == {"deleted": 1}
    left = (await agent.client.get("/api/memories")).json()
    assert [m["person"] for m in left["memories"]] == ["telegram:42:7"]
    assert left["persons"] == [{"person": "telegram:42:7", "count": 1}]


async def test_bad_person_keys_and_bodies_are_refused(agent):
    for params in ({"person": "everyone"}, {"person": "user:a b"}):
        response = await agent.client.get("/api/memories", params=params)
        assert response.status_code == 400, params
    assert (await agent.client.delete("/api/memories")).status_code == 400  # a person is required
    response = await agent.client.patch("/api/memories/m_1", json={"pinned": "very"})
    assert response.status_code == 400


@pytest.mark.process
def test_memories_survive_a_restart_and_an_erasure_survives_kill_9(agent_process):
    url = agent_process.url

    def tell(message: str) -> dict:
        response = httpx.post(f"{url}/api/chat/test", json={"message": message}, timeout=120)
        assert response.status_code == 200, response.text
        return response.json()

    def memories() -> list[dict]:
        return httpx.get(f"{url}/api/memories", timeout=30).json()["memories"]

    tell("Remember that my sister is called Ingrid.")
    tell("My car is a red Volvo.")
    kept = {m["id"]: m["text"] for m in memories()}
    assert len(kept) == 2

    agent_process.stop()
    agent_process.start()
    assert {m["id"]: m["text"] for m in memories()} == kept
    asked = tell("What is my sister called?")  # recalled by the restarted agent
    assert any("Ingrid" in m["text"] for m in asked["memories"])

    volvo = next(i for i, text in kept.items() if "Volvo" in text)
    assert httpx.delete(f"{url}/api/memories/{volvo}", timeout=30).status_code == 204
    agent_process.stop(signal.SIGKILL)
    agent_process.start()
    left = memories()
    assert volvo not in {m["id"] for m in left} and len(left) == 2  # Ingrid's round and the question's
    search = httpx.get(f"{url}/api/memories", params={"q": "Volvo"}, timeout=30).json()["memories"]
    assert all("Volvo" not in m["text"] for m in search)
    asked = tell("What car do I drive? Is it a Volvo?")
    assert all("Volvo" not in m["text"] for m in asked["memories"])
