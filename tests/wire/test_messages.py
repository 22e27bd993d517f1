"""The wire contract: every frame survives encode/decode; bad input raises ``WireError``."""

from __future__ import annotations

import json

import pytest

from aiclone_wire import (
    PROTOCOL_VERSION,
    Cancel,
    Chunk,
    Credit,
    End,
    Error,
    GatewayStats,
    Hello,
    LanRevocations,
    Ping,
    Pong,
    Request,
    RevokedToken,
    TelegramMessage,
    TelegramRequest,
    Usage,
    WireError,
    decode,
    encode,
)

FRAMES = [
    Hello(
        role="agent",
        clone_id="c",
        clone_name="Clone",
        models=["c"],
        capabilities=["chat"],
        direct_url="http://x",
    ),
    Hello(role="gateway", jwks={"keys": []}),
    Request(id="r1", body={"model": "c", "messages": [{"role": "user", "content": "hi"}]}, credit=8),
    TelegramRequest(id="t1", message=TelegramMessage(bot_id=1, chat_id=-100, user_id=None, text="привет")),
    Chunk(id="r1", delta="Héllo 👋"),
    End(id="r1", finish_reason="stop", usage=Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)),
    Error(id="r1", code="engine_error", message="boom", status=503),
    Cancel(id="r1"),
    Credit(id="r1", chunks=4),
    Ping(sent_at=12.5),
    Pong(sent_at=12.5),
    LanRevocations(revoked=[RevokedToken(jti="j1", expires_at=1.8e9)]),
    GatewayStats(users_online=2, chat_sockets=3, requests_in_flight=1, queued_questions=4, errors=0, interval_s=10),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.type)
def test_roundtrip(frame):
    assert decode(encode(frame)) == frame
    assert decode(encode(frame).encode()) == frame


def test_hello_carries_the_protocol_version():
    assert decode(encode(Hello(role="agent"))).protocol_version == PROTOCOL_VERSION


def test_unknown_fields_are_ignored_for_forward_compatibility():
    assert decode('{"type":"chunk","id":"a","delta":"x","new_field":1}') == Chunk(id="a", delta="x")


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"type":"teleport"}',
        '{"type":"chunk","id":"a"}',
        '{"type":"credit","id":"a","chunks":0}',
        "[]",
    ],
)
def test_bad_frames_raise_wire_error(text):
    with pytest.raises(WireError):
        decode(text)


def test_a_telegram_message_longer_than_telegram_allows_is_not_a_frame():
    frame = {"type": "telegram_request", "id": "t", "message": {"bot_id": 1, "chat_id": 2, "text": "x" * 4097}}
    with pytest.raises(WireError):
        decode(json.dumps(frame))


def test_openai_body_relays_only_what_the_client_set():
    from aiclone_wire.openai import ChatCompletionBody

    body = ChatCompletionBody.model_validate(
        {"model": "c", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "seed": 3}
    )
    assert body.relayed() == {
        "model": "c",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "seed": 3,
    }
    with pytest.raises(ValueError, match="kind"):
        ChatCompletionBody.model_validate({"model": "c", "messages": [{"role": "user"}], "kind": "telegram"})


def test_gateway_stats_refuse_negative_counts():
    text = encode(GatewayStats(users_online=1, requests_in_flight=0, queued_questions=0, errors=0, interval_s=10))
    with pytest.raises(WireError):
        decode(text.replace('"users_online":1', '"users_online":-1'))
