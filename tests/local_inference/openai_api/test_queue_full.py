"""A flooded agent refuses cleanly: 503 with Retry-After in OpenAI's error shape, nothing half-done."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from tests.support.fixtures.agents import AgentProcess, write_config

ESSAY = [{"role": "user", "content": "Write a very long essay about the history of bridges."}]


@pytest.fixture
def tiny_agent(tmp_path: Path, model_path: Path):
    """One slot and room for one waiting request."""
    config = write_config(
        tmp_path / "config.yaml",
        model={"base_model_path": str(model_path), "parallel": 1, "max_queue": 1, "temperature": 0.7},
    )
    agent = AgentProcess(tmp_path, model_path, config).start(timeout=180)
    yield agent
    agent.stop()


def _first_content(stream) -> str:
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                return choice.delta.content
    raise AssertionError("no content")


@pytest.mark.process
def test_full_queue_answers_503_with_retry_after(tiny_agent: AgentProcess):
    client = openai.OpenAI(base_url=f"{tiny_agent.url}/v1", api_key="local", max_retries=0, timeout=60)
    running = client.chat.completions.create(model="my-clone", messages=ESSAY, max_tokens=1500, stream=True)
    waiting = None
    try:
        assert _first_content(running)  # it holds the only slot
        waiting = client.chat.completions.create(
            model="my-clone", messages=ESSAY, max_tokens=1500, stream=True
        )
        with pytest.raises(openai.APIStatusError) as refused:
            client.chat.completions.create(model="my-clone", messages=ESSAY, max_tokens=5)
        error = refused.value
        assert error.status_code == 503
        assert int(error.response.headers["retry-after"]) >= 1
        assert error.body["code"] == "engine_busy" and "busy" in error.body["message"]
        assert error.body["type"] == "service_unavailable"

        with httpx.Client(base_url=tiny_agent.url, timeout=30) as http:
            # the owner's chat is refused the same way, and no half conversation is left behind
            answer = http.post("/api/chat/stream", json={"message": "Hello?"})
            assert answer.status_code == 503
            assert int(answer.headers["retry-after"]) >= 1
            assert answer.json()["error"]["code"] == "engine_busy"
            assert http.get("/api/conversations").json() == []
            status = http.get("/api/status").json()["engine"]
            assert status["running"] == 1 and status["waiting"] == 1 and status["rejected"] == 2
    finally:
        running.close()
        if waiting is not None:
            waiting.close()
