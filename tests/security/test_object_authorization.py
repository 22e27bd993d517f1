"""Object-level authorization (OWASP ASVS 8.2.2) on every object route and transport, against
a real gateway process: conversations and messages (REST, SSE, WebSocket), API keys (REST and
the OpenAI API) and agent tokens. Mallory can neither read, continue, cancel nor list Alice's.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.support.fixtures.gateways import ChatUser, frames_until

SECRET = "alice-secret-8841"


@pytest.fixture
async def alice_and_mallory(users: list[ChatUser]) -> tuple[ChatUser, ChatUser, str]:
    """Alice has a conversation holding a secret; its id is what Mallory tries to use."""
    alice, mallory = users
    async with alice.socket() as ws:
        frames = await alice.ask(ws, f"Remember this: {SECRET}")
    conversation_id = frames[0]["conversation_id"]
    assert conversation_id
    return alice, mallory, conversation_id


async def _messages(user: ChatUser, conversation_id: str) -> list[dict]:
    response = await user.http.get(f"/api/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    return response.json()["messages"]


async def test_rest_read_of_anothers_conversation_is_not_found(alice_and_mallory):
    alice, mallory, conversation_id = alice_and_mallory
    stolen = await mallory.http.get(f"/api/conversations/{conversation_id}")
    assert stolen.status_code == 404 and SECRET not in stolen.text
    missing = await mallory.http.get(f"/api/conversations/{uuid.uuid4().hex}")
    assert missing.status_code == 404  # the same answer as for one that does not exist
    assert stolen.json()["error"]["code"] == missing.json()["error"]["code"]
    assert any(SECRET in m["content"] for m in await _messages(alice, conversation_id))


async def test_rest_list_shows_only_ones_own(alice_and_mallory):
    alice, mallory, conversation_id = alice_and_mallory
    for query in ("", "?limit=100", "?limit=100&offset=0"):
        listed = await mallory.http.get(f"/api/conversations{query}")
        assert listed.status_code == 200
        assert conversation_id not in listed.text and SECRET not in listed.text
    assert conversation_id in (await alice.http.get("/api/conversations")).text


async def test_websocket_cannot_continue_anothers_conversation(alice_and_mallory):
    alice, mallory, conversation_id = alice_and_mallory
    before = await _messages(alice, conversation_id)
    async with mallory.socket() as ws:
        frames = await mallory.ask(ws, "What was the secret?", conversation_id=conversation_id)
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "conversation_not_found"
    assert SECRET not in json.dumps(frames)
    assert await _messages(alice, conversation_id) == before


async def test_sse_cannot_continue_anothers_conversation(alice_and_mallory):
    alice, mallory, conversation_id = alice_and_mallory
    before = await _messages(alice, conversation_id)
    body = {"conversation_id": conversation_id, "text": "What was the secret?"}
    async with mallory.http.stream("POST", "/api/chat/stream", json=body) as response:
        text = "".join([line async for line in response.aiter_lines()])
    assert "conversation_not_found" in text and SECRET not in text
    assert await _messages(alice, conversation_id) == before


async def test_websocket_cannot_cancel_anothers_answer(users: list[ChatUser], linked_agent):
    alice, mallory = users
    async with alice.socket() as alice_ws, mallory.socket() as mallory_ws:
        await alice_ws.send(json.dumps({"type": "message", "text": "Tell me a long story about the sea."}))
        accepted = (await frames_until(alice_ws, {"accepted", "queued", "error"}))[-1]
        assert accepted["type"] == "accepted", accepted
        await mallory_ws.send(json.dumps({"type": "cancel", "request_id": accepted["request_id"]}))
        end = (await frames_until(alice_ws, {"end", "error"}))[-1]
    assert end["type"] == "end" and end["finish_reason"] != "cancelled"


async def test_api_keys_are_private(users: list[ChatUser], linked_agent):
    alice, mallory = users
    created = (await alice.http.post("/api/keys", json={"name": "alice's"})).json()
    key_id, key = created["id"], created["key"]
    assert key_id not in (await mallory.http.get("/api/keys")).text
    revoked = await mallory.http.delete(f"/api/keys/{key_id}")
    assert revoked.status_code == 404
    async with httpx.AsyncClient(base_url=alice.gateway.url, timeout=30) as http:
        models = await http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert models.status_code == 200  # Mallory's attempt changed nothing
        assert (await alice.http.delete(f"/api/keys/{key_id}")).status_code == 204
        after = await http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert after.status_code == 401 and after.json()["error"]["code"] == "invalid_api_key"


async def test_an_access_token_is_no_api_key_and_an_api_key_no_access_token(users: list[ChatUser]):
    alice, _ = users
    key = (await alice.http.post("/api/keys", json={"name": "k"})).json()["key"]
    async with httpx.AsyncClient(base_url=alice.gateway.url, timeout=30) as http:
        as_key = await http.get(
            "/v1/models", headers={"Authorization": f"Bearer {alice.tokens['access_token']}"}
        )
        assert as_key.status_code == 401
        as_token = await http.get("/api/users/me", headers={"Authorization": f"Bearer {key}"})
        assert as_token.status_code == 401


async def test_agent_tokens_are_the_owners_alone(users: list[ChatUser], owner: ChatUser):
    _, mallory = users
    created = (await owner.http.post("/api/agents", json={"name": "pc"})).json()
    try:
        assert (await mallory.http.get("/api/agents")).status_code == 403
        assert (await mallory.http.post("/api/agents", json={"name": "mine"})).status_code == 403
        assert (await mallory.http.delete(f"/api/agents/{created['id']}")).status_code == 403
        listed = (await owner.http.get("/api/agents")).json()
        assert created["id"] in [t["id"] for t in listed]
        assert created["token"] not in json.dumps(listed)  # listed, never shown again
    finally:
        await owner.http.delete(f"/api/agents/{created['id']}")
