"""The gateway's OpenAI API through the official ``openai`` client, relayed to a real agent."""

from __future__ import annotations

import openai
import pytest

from tests.support.fixtures.gateways import ChatUser


@pytest.fixture
async def api_key(users: list[ChatUser]) -> str:
    response = await users[0].http.post("/api/keys", json={"name": "script"})
    assert response.status_code == 201
    return response.json()["key"]


@pytest.fixture
def client(users: list[ChatUser], api_key: str, linked_agent) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=f"{users[0].gateway.url}/v1", api_key=api_key, max_retries=0, timeout=120
    )


async def test_models_come_from_the_agent(client: openai.AsyncOpenAI):
    ids = [model.id async for model in client.models.list()]
    assert "my-clone" in ids


async def test_completion_and_stream_agree(client: openai.AsyncOpenAI):
    kwargs = dict(
        model="my-clone",
        messages=[{"role": "user", "content": "Name a fruit."}],
        max_tokens=8,
        temperature=0,
        seed=3,
    )
    # Warm the agent's prefix cache first, so both compared answers read the prompt the same way
    # (the cached prefix, then its last token alone): greedy texts are equal only for equal shapes.
    await client.chat.completions.create(**{**kwargs, "max_tokens": 1})
    whole = await client.chat.completions.create(**kwargs)
    assert whole.id.startswith("chatcmpl-") and whole.choices[0].finish_reason in ("stop", "length")
    usage = whole.usage
    assert (
        usage.total_tokens == usage.prompt_tokens + usage.completion_tokens and usage.completion_tokens <= 8
    )
    stream = await client.chat.completions.create(
        **kwargs, stream=True, stream_options={"include_usage": True}
    )
    pieces, finish, streamed_usage = [], None, None
    async for chunk in stream:
        streamed_usage = chunk.usage or streamed_usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    assert "".join(pieces) == whole.choices[0].message.content
    assert (
        finish == whole.choices[0].finish_reason
        and streamed_usage.completion_tokens == usage.completion_tokens
    )


@pytest.mark.parametrize(
    ("kwargs", "status", "needle"),
    [
        (dict(model="gpt-4o"), 404, "does not exist"),
        (dict(n=2), 400, "n > 1"),
        (dict(temperature=5), 400, "temperature"),
        (dict(messages=[]), 400, "messages"),
    ],
)
async def test_agent_errors_keep_their_status_and_shape(client: openai.AsyncOpenAI, kwargs, status, needle):
    request = dict(model="my-clone", messages=[{"role": "user", "content": "hi"}], max_tokens=4) | kwargs
    with pytest.raises(openai.APIStatusError) as info:
        await client.chat.completions.create(**request)
    assert info.value.status_code == status
    body = info.value.body
    assert needle in body["message"] and set(body) - {"fields", "field_codes"} == {
        "message",
        "type",
        "param",
        "code",
    }
    if "fields" in body:  # a validation error names each bad field, as both programs' errors do,
        # with a code the UIs translate (aiclone_wire.error_codes)
        assert needle in body["fields"] and body["field_codes"][needle]["code"], body


async def test_keys_are_listed_without_secret_and_revocable(users: list[ChatUser], api_key: str, client):
    user = users[0]
    listed = (await user.http.get("/api/keys")).json()
    (entry,) = [k for k in listed if api_key.startswith(k["prefix"])]
    assert "key" not in entry and api_key not in str(listed)
    assert (await users[1].http.delete(f"/api/keys/{entry['id']}")).status_code == 404  # not theirs
    assert (await user.http.delete(f"/api/keys/{entry['id']}")).status_code == 204
    with pytest.raises(openai.AuthenticationError) as refused:
        await client.models.list()
    assert refused.value.body["code"] == "invalid_api_key"


async def test_conversation_ids_cannot_be_smuggled_in(client: openai.AsyncOpenAI, users: list[ChatUser]):
    with pytest.raises(openai.BadRequestError) as refused:
        await client.chat.completions.create(
            model="my-clone",
            messages=[{"role": "user", "content": "hi"}],
            extra_body={"conversation_id": "x"},
        )
    assert "conversation_id" in refused.value.body["message"]
