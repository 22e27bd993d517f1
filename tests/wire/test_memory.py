"""The memory part of the wire: person keys, the two memory frames, and the fields on request/end."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from aiclone_wire import (
    End,
    MemoryRecord,
    MemoryRequest,
    MemoryResult,
    PersonKey,
    Request,
    WireError,
    decode,
    encode,
    telegram_person,
    user_person,
)

RECORD = MemoryRecord(
    id="m_0123456789abcdef",
    text="Q: my dog is Rex\nA: Nice name!",
    at=datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc),
    conversation_id="c1",
    channel="web",
    pinned=True,
)
_PERSON: TypeAdapter[str] = TypeAdapter(PersonKey)


@pytest.mark.parametrize(
    "frame",
    [
        MemoryRequest(id="q1", person="user:u-1", op="list", query="dog"),
        MemoryRequest(id="q2", person="telegram:-100:42", op="delete", memory_id="m_1"),
        MemoryRequest(id="q3", person="owner", op="settings", enabled=False),
        MemoryResult(id="q1", memories=[RECORD], enabled=True),
        MemoryResult(id="q2", deleted=3, enabled=False),
        Request(id="r1", body={"messages": []}, channel="web", person="user:abc"),
        End(id="r1", finish_reason="stop", memories=[RECORD]),
    ],
    ids=lambda f: f.type,
)
def test_memory_frames_roundtrip(frame):
    assert decode(encode(frame)) == frame


def test_a_record_travels_with_its_time_in_iso_8601_utc():
    wire = json.loads(encode(End(id="r", finish_reason="stop", memories=[RECORD])))
    assert wire["memories"][0]["at"] == "2026-03-01T12:30:00Z"
    assert wire["memories"][0]["person"] is None


def test_older_peers_frames_still_decode_without_the_new_fields():
    request = decode('{"type":"request","id":"r","body":{}}')
    end = decode('{"type":"end","id":"r","finish_reason":"stop"}')
    assert isinstance(request, Request) and request.person is None
    assert isinstance(end, End) and end.memories == []


@pytest.mark.parametrize(
    "person", ["owner", "user:abc_D-9", "telegram:123:456", "telegram:-1001:7", user_person("x")]
)
def test_person_keys_the_contract_allows(person):
    assert _PERSON.validate_python(person) == person


@pytest.mark.parametrize(
    "person",
    [
        "",
        "Owner",
        "user:",
        "user:a b",
        "user:a:b",
        "user:" + "a" * 65,
        "telegram:1",
        "telegram:a:1",
        "telegram:1:-2",
        "x",
    ],
)
def test_person_keys_the_contract_refuses(person):
    with pytest.raises(ValidationError):
        _PERSON.validate_python(person)
    with pytest.raises(WireError):
        decode(json.dumps({"type": "memory_request", "id": "q", "person": person, "op": "list"}))


def test_a_request_with_a_forged_person_is_not_a_frame():
    with pytest.raises(WireError):
        decode(json.dumps({"type": "request", "id": "r", "body": {}, "person": "user:../owner"}))


def test_person_key_helpers_match_the_pattern():
    assert _PERSON.validate_python(telegram_person(-100, 5)) == "telegram:-100:5"
    assert user_person("u1") == "user:u1"


def test_a_memory_search_is_bounded_and_the_op_is_closed():
    with pytest.raises(WireError):
        decode(
            json.dumps(
                {"type": "memory_request", "id": "q", "person": "owner", "op": "list", "query": "x" * 501}
            )
        )
    with pytest.raises(WireError):
        decode(json.dumps({"type": "memory_request", "id": "q", "person": "owner", "op": "export"}))
