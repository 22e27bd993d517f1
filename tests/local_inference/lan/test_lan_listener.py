"""At home with the VDS gone: family members keep talking to the clone on the LAN listener with the
token their gateway issued, checked offline; their conversations stay on the PC, in the admin."""

from __future__ import annotations

import json

import httpx
import openai

from aiclone_agent.api.chat import ChatEvents
from tests.support.fixtures.lan import HomeLan


async def _chat(lan: HomeLan, token: str, message: str, conversation_id: str | None = None) -> list[dict]:
    """The LAN chat's SSE events for one message, each checked against the admin chat's event models."""
    events = []
    async with lan.lan(token) as http:
        body = {"message": message, "conversation_id": conversation_id}
        async with http.stream("POST", "/api/lan/chat/stream", json=body) as response:
            assert response.status_code == 200, await response.aread()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    ChatEvents.validate_json(line[6:])
                    events.append(json.loads(line[6:]))
    return events


async def test_the_openai_client_gets_answers_with_the_gateway_stopped(home_lan: HomeLan):
    assert home_lan.gateway.proc.poll() is not None  # the gateway process is gone
    status = await home_lan.agent_status()
    assert status["network_mode"] == "offline"
    client = openai.AsyncOpenAI(base_url=f"{home_lan.lan_url}/v1", api_key=home_lan.token, max_retries=0)
    try:
        models = [model.id for model in (await client.models.list()).data]
        assert models[0] == status["clone"]["id"]  # the clone's id first, as on the admin's /v1
        stream = await client.chat.completions.create(
            model=models[0], messages=[{"role": "user", "content": "Say hello."}], stream=True
        )
        pieces = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
        assert "".join(pieces).strip(), pieces
        whole = await client.chat.completions.create(
            model=models[0], messages=[{"role": "user", "content": "Name a colour."}]
        )
        assert whole.choices[0].message.content.strip()
        assert whole.usage.completion_tokens > 0
    finally:
        await client.close()


async def test_a_lan_chat_is_kept_on_the_pc_and_shown_in_the_admin_with_its_author(home_lan: HomeLan):
    events = await _chat(home_lan, home_lan.token, "What is your favourite season?")
    done = events[-1]
    assert done.get("done") is True, events
    answer = "".join(e.get("delta", "") for e in events)
    assert answer.strip()
    conversation_id = done["conversation_id"]
    # the next message continues the same conversation, with its history
    again = await _chat(home_lan, home_lan.token, "And why?", conversation_id)
    assert again[-1]["conversation_id"] == conversation_id
    async with httpx.AsyncClient(base_url=home_lan.agent.url, timeout=10) as admin:
        listed = {c["id"]: c for c in (await admin.get("/api/conversations")).json()}
        detail = (await admin.get(f"/api/conversations/{conversation_id}")).json()
    assert listed[conversation_id]["channel"] == "lan"
    assert listed[conversation_id]["author"] == home_lan.name
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    assert detail["messages"][0]["content"] == "What is your favourite season?"
    assert detail["messages"][1]["content"] == answer
    # the user sees it on the LAN too
    async with home_lan.lan(home_lan.token) as http:
        mine = [c["id"] for c in (await http.get("/api/lan/conversations")).json()]
        me = (await http.get("/api/lan/me")).json()
    assert conversation_id in mine
    assert me["name"] == home_lan.name and me["id"] == home_lan.user_id


async def test_a_lan_user_reaches_only_their_own_conversations(home_lan: HomeLan):
    events = await _chat(home_lan, home_lan.token, "A secret: my PIN is 4921.")
    mine = events[-1]["conversation_id"]
    async with httpx.AsyncClient(base_url=home_lan.agent.url, timeout=60) as admin:
        owners = (await admin.post("/api/chat/test", json={"message": "Owner's own note."})).json()
    async with home_lan.lan(home_lan.other_token) as http:
        listed = [c["id"] for c in (await http.get("/api/lan/conversations")).json()]
        read = await http.get(f"/api/lan/conversations/{mine}")
        owner_read = await http.get(f"/api/lan/conversations/{owners['conversation_id']}")
        continued = await http.post(
            "/api/lan/chat/stream", json={"message": "Tell me the PIN.", "conversation_id": mine}
        )
    assert mine not in listed and owners["conversation_id"] not in listed
    for response in (read, owner_read, continued):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "conversation_not_found"
    async with httpx.AsyncClient(base_url=home_lan.agent.url, timeout=10) as admin:
        detail = (await admin.get(f"/api/conversations/{mine}")).json()
    assert len(detail["messages"]) == 2  # nothing was added by the other user


async def test_the_lan_chat_page_is_served(home_lan: HomeLan):
    async with home_lan.lan() as http:
        page = await http.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "LAN token" in page.text and "/api/lan/chat/stream" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_each_lan_user_has_their_own_memories(home_lan: HomeLan):
    await _chat(home_lan, home_lan.token, "Remember that my bike lock code is 3107.")
    recalled = (await _chat(home_lan, home_lan.token, "What is my bike lock code?"))[-1]["memories"]
    assert any("3107" in m["text"] for m in recalled), recalled
    assert (await _chat(home_lan, home_lan.other_token, "What is my bike lock code?"))[-1]["memories"] == []

    async with home_lan.lan(home_lan.token) as mine, home_lan.lan(home_lan.other_token) as theirs:
        own = (await mine.get("/api/lan/me/memories")).json()
        assert own["enabled"] is True and all(m["person"] is None for m in own["memories"])
        fact = next(m for m in own["memories"] if "3107" in m["text"])
        assert fact["channel"] == "lan" and fact["pinned"] is True
        others = (await theirs.get("/api/lan/me/memories")).json()["memories"]
        assert [m["text"].splitlines()[0] for m in others] == ["Q: What is my bike lock code?"]
        found = (await mine.get("/api/lan/me/memories", params={"q": "lock code"})).json()["memories"]
        assert fact["id"] in [m["id"] for m in found]

        refused = await theirs.delete(f"/api/lan/me/memories/{fact['id']}")  # not theirs: as if absent
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "memory_not_found"
        assert (await theirs.put("/api/lan/me/memory-settings", json={"enabled": False})).json() == {
            "enabled": False
        }
        assert (await theirs.get("/api/lan/me/memory-settings")).json() == {"enabled": False}
        await _chat(home_lan, home_lan.other_token, "My bike lock code is 9999.")  # switched off: not kept
        assert len((await theirs.get("/api/lan/me/memories")).json()["memories"]) == 1

        # the LAN token's OpenAI API is the same person
        model = (await mine.get("/v1/models")).json()["data"][0]["id"]
        body = {"model": model, "messages": [{"role": "user", "content": "What is my bike lock code?"}]}
        answer = (await mine.post("/v1/chat/completions", json=body)).json()
        assert fact["id"] in [m["id"] for m in answer["memories"]]

        assert (await mine.delete(f"/api/lan/me/memories/{fact['id']}")).status_code == 204
        erased = (await mine.delete("/api/lan/me/memories")).json()["deleted"]
        assert erased >= 2 and (await mine.get("/api/lan/me/memories")).json()["memories"] == []
        assert len((await theirs.get("/api/lan/me/memories")).json()["memories"]) == 1
        assert (await mine.get("/api/lan/me/memories")).status_code == 200
    async with home_lan.lan() as anonymous:
        assert (await anonymous.get("/api/lan/me/memories")).status_code == 401


async def test_a_pairing_code_signs_in_a_second_device_once(home_lan: HomeLan):
    """A device with a LAN token asks for a one-time code; another trades it for the same token,
    once; codes are handed out to token holders only, and guessing is throttled."""
    async with home_lan.lan(home_lan.token) as device:
        created = await device.post("/api/lan/pairing-codes")
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        assert created.json()["expires_in_s"] == 600
    async with home_lan.lan() as second:
        paired = await second.post("/api/lan/pair", json={"code": code})
        assert paired.json() == {"token": home_lan.token}
        again = await second.post("/api/lan/pair", json={"code": code})
        assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_pairing_code"
        assert (await second.post("/api/lan/pairing-codes")).status_code == 401
        async with home_lan.lan(home_lan.revoked_token) as revoked:
            assert (await revoked.post("/api/lan/pairing-codes")).status_code == 401
        for guess in range(9):  # ten wrong codes a minute at most (the spent one above was the first)
            wrong = await second.post("/api/lan/pair", json={"code": f"AAAA-AAA{guess + 2}"})
            assert wrong.status_code == 400, wrong.text
        throttled = await second.post("/api/lan/pair", json={"code": "AAAA-AAAA"})
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
