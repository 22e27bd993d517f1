"""Our OpenAI API through the official ``openai`` client: against one real agent process shared by
the module (each test asserts on its own answers), and in-process for request validation."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

ABORTED_API = 'aiclone_generations_total{channel="api",finish_reason="abort"}'


@pytest.fixture
def client(shared_agent_process):
    return openai.OpenAI(base_url=f"{shared_agent_process.url}/v1", api_key="local", max_retries=0, timeout=180)


@pytest.fixture
async def in_process_client(agent):
    """The official client talking to an in-process agent app (no process start: validation only)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=agent.app), base_url="http://127.0.0.1:3000") as http:
        yield openai.AsyncOpenAI(base_url="http://127.0.0.1:3000/v1", api_key="local", max_retries=0, http_client=http)


def test_models_lists_the_clone(client, model_path):
    ids = [model.id for model in client.models.list()]
    assert ids[0] == "my-clone"
    # the base model's id too: its file name as in models/base/, not the GGUF's spaced general.name
    assert ids[1:] == [model_path.stem], ids
    completion = client.chat.completions.create(
        model=ids[1], messages=[{"role": "user", "content": "Hi"}], max_tokens=2
    )
    assert completion.model == ids[1]


def test_non_stream_completion(client):
    completion = client.chat.completions.create(
        model="my-clone",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}],
        max_tokens=20,
        temperature=0,
    )
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert completion.usage.completion_tokens <= 20
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_stream_completion_matches_non_stream_text(client):
    kwargs = dict(model="my-clone", messages=[{"role": "user", "content": "Name a fruit."}], max_tokens=16, temperature=0, seed=11)
    # warm the prefix cache, so both compared answers recompute the last prompt token the same way
    client.chat.completions.create(**{**kwargs, "max_tokens": 1})
    whole = client.chat.completions.create(**kwargs).choices[0].message.content
    stream = client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
    pieces, finish, usage = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            finish = choice.finish_reason or finish
    assert "".join(pieces) == whole
    assert finish in ("stop", "length")
    assert usage is not None and usage.completion_tokens >= 1


def test_max_tokens_gives_length(client):
    completion = client.chat.completions.create(
        model="my-clone", messages=[{"role": "user", "content": "Write a long story about dragons."}], max_tokens=5
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 5


def test_stop_sequence(client):
    # Asked for a comma-separated list, the model writes a comma early; the answer ends before it,
    # without it (two greedy runs are not compared: their cache states differ, near-ties flip).
    stopped = client.chat.completions.create(
        model="my-clone", messages=[{"role": "user", "content": "List the days of the week, separated by commas."}],
        max_tokens=60, temperature=0, seed=2, stop=[","],
    )
    assert "," not in stopped.choices[0].message.content and stopped.choices[0].message.content.strip()
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.usage.completion_tokens < 60


@pytest.mark.parametrize(
    ("kwargs", "status", "needle"),
    [
        (dict(n=2), 400, "n > 1"),
        (dict(max_tokens=-1), 400, "max_tokens"),
        (dict(max_tokens=100_000), 400, "max_tokens"),
        (dict(temperature=5), 400, "temperature"),
        (dict(messages=[{"role": "wizard", "content": "hi"}]), 400, "role"),
        (dict(messages=[]), 400, "messages"),
        (dict(model="gpt-4o"), 404, "does not exist"),
        (dict(tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]), 400, "tools"),
    ],
)
async def test_errors_have_openai_shape(in_process_client, kwargs, status, needle):
    request = dict(model="my-clone", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
    request.update(kwargs)
    with pytest.raises(openai.APIStatusError) as info:
        await in_process_client.chat.completions.create(**request)
    error = info.value
    assert error.status_code == status
    body = error.body
    assert needle in body["message"], body
    assert body["type"] in ("invalid_request_error", "not_found_error")


def _aborted(metrics: str) -> float:
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(ABORTED_API))


def test_client_disconnect_aborts_generation(shared_agent_process):
    body = {"model": "my-clone", "messages": [{"role": "user", "content": "Write an endless story."}], "max_tokens": 1500, "stream": True}
    with httpx.Client(base_url=shared_agent_process.url, timeout=60) as http:
        aborted_before = _aborted(http.get("/metrics").text)
        tokens_before = _generated_api_tokens(http.get("/metrics").text)
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            for line in response.iter_lines():
                if '"content":"' in line and '"content":""' not in line:
                    break
        # the server notices the closed connection and aborts the generation
        deadline = time.monotonic() + 10
        while _aborted(metrics := http.get("/metrics").text) == aborted_before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _aborted(metrics) == aborted_before + 1
        assert _generated_api_tokens(metrics) - tokens_before < 1500


def _generated_api_tokens(metrics: str) -> float:
    tokens = [line for line in metrics.splitlines() if line.startswith('aiclone_generated_tokens_total{channel="api"}')]
    return float(tokens[0].split()[-1]) if tokens else 0.0
