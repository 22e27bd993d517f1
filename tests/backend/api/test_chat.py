"""Public chat through the relay to a real agent: WebSocket, SSE fallback, tickets, Origin, isolation."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.local_inference.rag.documents import EN_FACTS, text_bytes
from tests.support.documents_api import upload, wait_indexed
from tests.support.fixtures.gateways import (
    ALLOWED_ORIGIN,
    ChatUser,
    GatewayProcess,
    create_agent_token,
    frames_until,
    read_frame,
    sign_up,
    wait_online,
)


def _answer(frames: list[dict]) -> str:
    return "".join(f["delta"] for f in frames if f["type"] == "chunk")


async def test_chat_over_websocket(users: list[ChatUser], linked_agent):
    user = users[1]
    async with user.socket() as ws:
        frames = await user.ask(ws, "Hello! Who are you?")
        accepted, *chunks, end = frames
        assert accepted["type"] == "accepted" and accepted["conversation_id"] and accepted["message_id"]
        assert chunks and all(
            c["type"] == "chunk" and c["request_id"] == accepted["request_id"] for c in chunks
        )
        assert end["type"] == "end" and end["finish_reason"] in ("stop", "length")
        assert end["message_id"] == accepted["message_id"] and end["usage"]["completion_tokens"] >= len(
            chunks
        )
        follow_up = await user.ask(ws, "Say that again.", accepted["conversation_id"])
        assert (
            follow_up[0]["conversation_id"] == accepted["conversation_id"] and follow_up[-1]["type"] == "end"
        )
        first_prompt_tokens, second_prompt_tokens = (
            end["usage"]["prompt_tokens"],
            follow_up[-1]["usage"]["prompt_tokens"],
        )
        assert second_prompt_tokens > first_prompt_tokens  # the history went to the agent
    detail = (await user.http.get(f"/api/conversations/{accepted['conversation_id']}")).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    assert detail["messages"][1]["content"] == _answer(frames) and detail["messages"][1]["status"] == "done"
    assert detail["title"] == "Hello! Who are you?"
    listed = (await user.http.get("/api/conversations")).json()
    assert [c["id"] for c in listed] == [accepted["conversation_id"]] and listed[0]["updated_at"].endswith(
        "Z"
    )


async def test_chat_over_sse(users: list[ChatUser], linked_agent):
    user = users[0]
    frames = []
    async with user.http.stream("POST", "/api/chat/stream", json={"text": "Name a colour."}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                frames.append(read_frame(line[6:]))
    assert frames[0]["type"] == "accepted" and frames[-1]["type"] == "end"
    stored = (await user.http.get(f"/api/conversations/{frames[0]['conversation_id']}")).json()
    assert stored["messages"][-1]["content"] == _answer(frames)


async def test_foreign_origin_is_refused(users: list[ChatUser], linked_agent):
    user = users[0]
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with user.socket(origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_tickets_are_single_use_and_required(users: list[ChatUser]):
    user = users[0]
    ticket = await user.ticket()
    url = f"{user.gateway.ws_url}/ws/chat?ticket={ticket}"
    async with websockets.connect(url, origin=ALLOWED_ORIGIN) as ws:
        assert json.loads(await ws.recv())["type"] == "status"
    for bad in (url, f"{user.gateway.ws_url}/ws/chat", f"{user.gateway.ws_url}/ws/chat?ticket=made-up"):
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(bad, origin=ALLOWED_ORIGIN):
                pass
    anonymous = await user.http.post("/api/chat/ticket", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_chat_sockets_do_not_negotiate_compression(users: list[ChatUser]):
    """A client offering permessage-deflate (browsers do) gets none: each idle socket would keep a
    zlib compressor and decompressor (docs/benchmarks.md, the load run: 70 -> 34 KiB per socket)."""
    user = users[0]
    url = f"{user.gateway.ws_url}/ws/chat?ticket={await user.ticket()}"
    async with websockets.connect(url, origin=ALLOWED_ORIGIN, compression="deflate") as ws:
        assert json.loads(await ws.recv())["type"] == "status"
        assert "permessage-deflate" not in (ws.response.headers.get("Sec-WebSocket-Extensions") or "")
        assert ws.protocol.extensions == []


async def test_bad_frames_get_an_error_frame(users: list[ChatUser]):
    user = users[0]
    async with user.socket() as ws:
        await ws.send(json.dumps({"type": "message", "text": ""}))
        (error,) = await frames_until(ws, {"error"})
        assert error["code"] == "invalid_frame"


async def test_users_cannot_see_or_continue_each_others_conversations(users: list[ChatUser], linked_agent):
    alice, bob = users
    async with alice.socket() as ws:
        conversation_id = (await alice.ask(ws, "My secret is 42."))[0]["conversation_id"]
    assert (await bob.http.get("/api/conversations")).json() == []
    peek = await bob.http.get(f"/api/conversations/{conversation_id}")
    assert peek.status_code == 404 and peek.json()["error"]["code"] == "conversation_not_found"
    async with bob.socket() as ws:
        (error,) = await bob.ask(ws, "What is the secret?", conversation_id)
        assert error["type"] == "error" and error["code"] == "conversation_not_found"
    async with bob.http.stream(
        "POST", "/api/chat/stream", json={"text": "secret?", "conversation_id": conversation_id}
    ) as response:
        body = (await response.aread()).decode()
    assert "conversation_not_found" in body and "chunk" not in body
    mine = (await alice.http.get(f"/api/conversations/{conversation_id}")).json()
    assert len(mine["messages"]) == 2  # bob's attempts left no trace in alice's conversation


async def test_answers_cite_the_clones_documents_in_the_end_frame(fresh_gateway: GatewayProcess, own_agent):
    """The public chat shows citations: the agent's sources travel in the end frame and stay with the answer."""
    (user,) = await sign_up(fresh_gateway, 1)
    agent = own_agent(fresh_gateway, await create_agent_token(user))
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        document = await upload(http, "lamps.txt", text_bytes(EN_FACTS), "public")
        await wait_indexed(http)
    await wait_online(fresh_gateway)
    async with user.socket() as ws:
        accepted, *_, end = await user.ask(ws, "How long is the warranty on a ceramic lamp?")
    assert end["type"] == "end", end
    cited = next(s for s in end["sources"] if "36 months" in s["text"])
    assert cited["document_id"] == document["id"] and cited["document_name"] == "lamps.txt"
    assert 0 <= cited["start"] < cited["end"]
    detail = (await user.http.get(f"/api/conversations/{accepted['conversation_id']}")).json()
    assert detail["messages"][-1]["sources"] == end["sources"]  # reopened later, the answer cites the same
    await user.close()
