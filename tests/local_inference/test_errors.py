"""The agent's one place for errors: every transport reads the same status, code and Retry-After,
and each of the agent's exceptions carries its own problem (the table imports none of them)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pydantic import BaseModel

from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.chat.context import ContextOverflowError
from aiclone_agent.chat.service import ConversationNotFoundError
from aiclone_agent.core.config import ConfigError
from aiclone_agent.core.errors import problem_for
from aiclone_agent.engine.base import EngineBusyError, EngineError, PromptTooLongError
from aiclone_agent.engine.settings import SettingRefusedError
from aiclone_agent.gateway.requests import _error_frame
from aiclone_agent.lan.tokens import LanTokenRefusedError

TABLE = Path(__file__).resolve().parents[2] / "local-inference" / "aiclone_agent" / "core" / "errors.py"


@pytest.mark.parametrize(
    ("exc", "status", "code", "param"),
    [
        (ContextOverflowError("too long"), 400, "context_length_exceeded", "messages"),
        (ConversationNotFoundError("c1"), 404, "conversation_not_found", "conversation_id"),
        (LanTokenRefusedError("expired"), 401, "invalid_lan_token", None),
        (ConfigError("bad yaml"), 400, "invalid_config", None),
        (SettingRefusedError("n_ctx", "too big"), 400, "invalid_setting", "n_ctx"),
        (EngineBusyError("busy", retry_after_s=2), 503, "engine_busy", None),
        (AdapterError("no adapter"), 409, "adapter_unavailable", None),
        (PromptTooLongError("too long"), 503, "engine_error", None),
        (EngineError("model failed"), 503, "engine_error", None),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
def test_each_exception_answers_with_its_own_problem(
    exc: Exception, status: int, code: str, param: str | None
):
    problem = problem_for(exc)
    assert problem is not None
    assert (problem.status, problem.code, problem.param) == (status, code, param)


def test_the_table_imports_none_of_the_packages_whose_exceptions_it_answers():
    imported = {
        node.module
        for node in ast.walk(ast.parse(TABLE.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {m for m in imported if m.startswith("aiclone_agent.")}, imported


def test_a_full_queue_is_engine_busy_with_retry_after_not_a_generic_engine_error():
    problem = problem_for(EngineBusyError("the clone is busy", retry_after_s=4))
    assert problem is not None
    assert (problem.status, problem.code, problem.response_headers()) == (
        503,
        "engine_busy",
        {"Retry-After": "4"},
    )
    frame = _error_frame("r1", EngineBusyError("the clone is busy", retry_after_s=4))
    assert (frame.status, frame.code, frame.retry_after_s) == (503, "engine_busy", 4)
    problem = problem_for(EngineError("x"))
    assert problem is not None and problem.response_headers() is None


def test_http_body_and_relay_frame_agree():
    for exc in (ContextOverflowError("the conversation is too long"), EngineError("model failed")):
        problem = problem_for(exc)
        assert problem is not None
        body, frame = problem.body()["error"], _error_frame("r", exc)
        assert (body["code"], body["message"], problem.status) == (frame.code, frame.message, frame.status)


def test_a_bad_relayed_body_names_its_field():
    class Body(BaseModel):
        max_tokens: int

    try:
        Body.model_validate({"max_tokens": "many"})
    except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, as the relay sees it
        frame = _error_frame("r", exc)
    assert frame.status == 400 and frame.code == "invalid_request" and frame.message.startswith("max_tokens:")


def test_an_unexpected_exception_is_not_dressed_up_as_a_client_error():
    assert problem_for(RuntimeError("bug")) is None
