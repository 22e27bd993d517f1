"""Local test chat: whole answers, SSE streaming, history, and refusals of bad input."""

from __future__ import annotations

import pytest

from tests.support.sse import parse_sse


async def test_chat_test_answers_from_the_model(agent):
    response = await agent.client.post("/api/chat/test", json={"message": "What is the capital of France?"})
    assert response.status_code == 200
    body = response.json()
    assert body["answer"].strip()
    assert body["conversation_id"]
    usage = body["usage"]
    assert usage["prompt_tokens"] > 10
    assert 1 <= usage["completion_tokens"] <= 24
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_second_turn_carries_the_conversation_history(agent, spy_prompts):
    first = (await agent.client.post("/api/chat/test", json={"message": "My name is Zorbulon."})).json()
    second = await agent.client.post(
        "/api/chat/test", json={"message": "What is my name?", "conversation_id": first["conversation_id"]}
    )
    assert second.status_code == 200
    assert second.json()["conversation_id"] == first["conversation_id"]
    prompt = spy_prompts[-1]
    assert "My name is Zorbulon." in prompt
    assert first["answer"].strip() in prompt
    assert prompt.index("Zorbulon") < prompt.index("What is my name?")

    detail = (await agent.client.get(f"/api/conversations/{first['conversation_id']}")).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    assert detail["messages"][3]["content"] == second.json()["answer"]


async def test_stream_sends_deltas_then_done_and_stores_the_same_answer(agent):
    response = await agent.client.post("/api/chat/stream", json={"message": "Tell me a short story about a cat."})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    deltas = [e["delta"] for e in events if "delta" in e]
    final = events[-1]
    assert final["done"] is True
    assert len(deltas) >= 2
    assert final["usage"]["completion_tokens"] == 24
    assert final["finish_reason"] == "length"
    stored = (await agent.client.get(f"/api/conversations/{final['conversation_id']}")).json()
    assert stored["messages"][-1]["content"] == "".join(deltas)


async def test_unknown_conversation_is_404(agent):
    response = await agent.client.post("/api/chat/test", json={"message": "hi", "conversation_id": "nope"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "conversation_not_found"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"message": ""}, "message"),
        ({"message": "   \n "}, "empty"),
        ({"message": "x" * 32_001}, "limit"),
        ({"message": "hi", "max_tokens": -5}, "max_tokens"),
        ({"message": "hi", "max_tokens": 10**9}, "max_tokens"),
        ({"message": "hi", "max_tokens": 4000}, "context"),
        ({"message": 42}, "message"),
        ({"text": "hi"}, "message"),
        ({"message": "hi", "role": "wizard"}, "role"),
    ],
)
async def test_bad_chat_input_is_a_clear_400_and_stores_nothing(agent, body, needle):
    for path in ("/api/chat/test", "/api/chat/stream"):
        response = await agent.client.post(path, json=body)
        assert response.status_code == 400, (path, body, response.text)
        message = response.json()["error"]["message"]
        assert needle in message, message
    assert (await agent.client.get("/api/conversations")).json() == []


async def test_invalid_json_is_a_clear_400(agent):
    response = await agent.client.post(
        "/api/chat/test", content=b'{"message": "hi"', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]
    assert (await agent.client.get("/api/conversations")).json() == []
