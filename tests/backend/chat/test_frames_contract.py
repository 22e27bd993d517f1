"""The public chat's browser contract: the web app's frame types are the gateway's models.

``frontend/src/api/chatFrames.ts`` is generated from ``aiclone_gateway.chat.protocol``; these tests
fail when the checked-in file and the models differ (either side edited alone), when a change to
a model would go unnoticed by the comparison, and when the web app grows frame types of its own.
"""

from __future__ import annotations

import difflib
import functools
import operator
import re
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter, create_model

from aiclone_agent.api.chat import Source as AgentSource
from aiclone_agent.rag.retrieval import RetrievedChunk
from aiclone_gateway.chat import protocol
from aiclone_gateway.chat.typescript import TARGET, render
from aiclone_gateway.core.config import REPO_ROOT
from aiclone_wire.typescript import UnsupportedSchemaError, ts_type

FRONTEND = REPO_ROOT / "frontend" / "src"
SERVER = [
    protocol.StatusFrame,
    protocol.AcceptedFrame,
    protocol.ChunkFrame,
    protocol.EndFrame,
    protocol.ErrorFrame,
    protocol.QueuedFrame,
    protocol.AnswerFrame,
]
CLIENT = [protocol.MessageIn, protocol.CancelIn]


def test_the_checked_in_typescript_is_what_the_models_say():
    checked_in = TARGET.read_text(encoding="utf-8")
    generated = render()
    diff = "".join(
        difflib.unified_diff(
            checked_in.splitlines(keepends=True), generated.splitlines(keepends=True), "checked in", "models"
        )
    )
    assert checked_in == generated, f"run python scripts/typescript.py\n{diff}"


def test_the_declarations_say_what_the_gateway_sends():
    """Spot checks of the rendering itself: literal tags, null vs optional, arrays of models."""
    text = TARGET.read_text(encoding="utf-8")
    end = _block(text, "EndFrame")
    assert "  type: 'end'" in end and "  sources: Source[]" in end and "  usage: Usage" in end
    assert "  request_id: string | null" in _block(text, "ErrorFrame")  # an unreadable frame has no request
    assert "  network_mode: 'direct' | 'relay' | 'hybrid' | 'offline'" in _block(text, "StatusFrame")
    message = _block(text, "MessageIn")
    assert "  type: 'message'" in message  # the union's tag is required on the socket
    assert "  conversation_id?: string | null" in message and "  text: string" in message
    assert "'sources'" not in text  # no frame the gateway never sends


def _block(text: str, name: str) -> str:
    match = re.search(rf"^export interface {name} \{{\n(.*?)^\}}", text, re.M | re.S)
    assert match, f"{name} is not declared"
    return match.group(1)


def _changed(
    model: type[BaseModel],
    rename: dict[str, str] | None = None,
    retype: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    default: dict[str, Any] | None = None,
) -> type[BaseModel]:
    """A copy of ``model`` (same name and config) with fields renamed, retyped, dropped or defaulted."""
    rename, retype, default = rename or {}, retype or {}, default or {}
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in drop:
            continue
        annotation = retype.get(name, info.annotation)
        value = default.get(name, ... if info.is_required() else info.default)
        fields[rename.get(name, name)] = (annotation, value)
    return create_model(model.__name__, __config__=model.model_config, __doc__=model.__doc__, **fields)


def _union(models: list[type[BaseModel]]) -> TypeAdapter:
    return TypeAdapter(Annotated[functools.reduce(operator.or_, models), Field(discriminator="type")])


def _with(models: list[type[BaseModel]], replacement: type[BaseModel]) -> list[type[BaseModel]]:
    return [replacement if m.__name__ == replacement.__name__ else m for m in models]


def _source_with_text_chunk_index() -> list[type[BaseModel]]:
    source = _changed(protocol.Source, retype={"chunk_index": str})
    end = _changed(protocol.EndFrame, retype={"sources": list[source]})
    answer = _changed(protocol.AnswerFrame, retype={"sources": list[source]})
    return _with(_with(SERVER, end), answer)


DRIFTS = {
    "a field renamed": (
        lambda: _with(SERVER, _changed(protocol.ChunkFrame, rename={"delta": "text"})),
        CLIENT,
        "ChunkFrame",
    ),
    "a field the gateway stops sending": (
        lambda: _with(SERVER, _changed(protocol.EndFrame, drop=("sources",))),
        CLIENT,
        "EndFrame",
    ),
    "a new tag value": (
        lambda: _with(
            SERVER, _changed(protocol.EndFrame, retype={"type": Literal["done"]}, default={"type": "done"})
        ),
        CLIENT,
        "EndFrame",
    ),
    "a null no longer allowed": (
        lambda: _with(SERVER, _changed(protocol.ErrorFrame, retype={"request_id": str})),
        CLIENT,
        "ErrorFrame",
    ),
    "a nested value type": (_source_with_text_chunk_index, CLIENT, "Source"),
    "a frame the gateway starts sending": (
        lambda: [
            *SERVER,
            create_model(
                "SourcesFrame",
                __config__=protocol.ChunkFrame.model_config,
                type=(Literal["sources"], "sources"),
                request_id=(str, ...),
                sources=(list[protocol.Source], ...),
            ),
        ],
        CLIENT,
        "SourcesFrame",
    ),
    "a required client field made optional": (
        lambda: SERVER,
        _with(CLIENT, _changed(protocol.CancelIn, default={"request_id": "all"})),
        "CancelIn",
    ),
}


def test_the_unions_rebuilt_here_render_like_the_real_ones():
    assert render(_union(SERVER), _union(CLIENT)) == render()


@pytest.mark.parametrize("drift", DRIFTS)
def test_a_drift_in_the_models_fails_the_comparison(drift: str):
    server, client, where = DRIFTS[drift]
    checked_in = TARGET.read_text(encoding="utf-8")
    drifted = render(_union(server()), _union(client))
    assert drifted != checked_in
    if f"export interface {where} " in checked_in:
        assert _block(drifted, where) != _block(checked_in, where)  # the change shows where it was made
    else:
        assert f"export interface {where} " in drifted and f"  | {where}" in drifted


def test_what_the_renderer_cannot_say_fails_loudly():
    with pytest.raises(UnsupportedSchemaError):
        ts_type({})  # Any: would be a silent `any` in TypeScript
    with pytest.raises(UnsupportedSchemaError):
        ts_type({"type": "object"})


def test_the_web_app_declares_no_frames_of_its_own():
    """Hand-written frame types beside the generated ones would drift again (like the old `sources`)."""
    tags = "|".join(
        ["status", "accepted", "chunk", "end", "error", "queued", "answer", "message", "cancel", "sources"]
    )
    declared = re.compile(
        rf"type:\s*'({tags})'\s*[;}}]|\b(type|interface)\s+(ServerFrame|ClientFrame)\s*[={{]"
    )
    offenders = [
        f"{path.relative_to(FRONTEND)}: {match.group(0)}"
        for path in [*FRONTEND.rglob("*.ts"), *FRONTEND.rglob("*.vue")]
        if path != TARGET and not path.name.endswith(".spec.ts")
        for match in declared.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    gateway = (FRONTEND / "api" / "gateway.ts").read_text(encoding="utf-8")
    assert "from './chatFrames'" in gateway


def test_the_agents_sources_fit_the_frames():
    """The agent cites passages in its End frame; the gateway passes them on as ``Source``."""
    cited = RetrievedChunk("d1", "cv.md", 2, "Rust and Python", 0.5, 10, 25).source()
    assert protocol.Source.model_validate(cited).model_dump() == cited  # nothing dropped, nothing renamed
    agent_fields = set(AgentSource.model_fields)
    assert agent_fields == set(protocol.Source.model_fields)
    assert agent_fields == set(cited)


def test_a_source_that_does_not_fit_costs_only_itself(caplog):
    good = RetrievedChunk("d1", "cv.md", 0, "Rust", 0.5, 0, 4).source()
    older = {"document_id": "d2", "document_name": "faq.md", "chunk_index": 3}  # an agent before offsets
    kept = protocol.cited_sources([good, {"document_id": "d3"}, older])
    assert [s.document_id for s in kept] == ["d1", "d2"]
    assert kept[1].model_dump() == {**older, "start": None, "end": None, "text": ""}
    assert "left out a source" in caplog.text
