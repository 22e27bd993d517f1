"""The agent's one exception table: every transport reads the same status, code and Retry-After."""

from __future__ import annotations

import itertools

from pydantic import BaseModel

from aiclone_agent.chat.context import ContextOverflowError
from aiclone_agent.engine.base import EngineBusyError, EngineError, PromptTooLongError
from aiclone_agent.errors import TABLE, problem_for
from aiclone_agent.gateway.requests import _error_frame


def test_no_entry_is_shadowed_by_an_earlier_base_class():
    for (earlier, _), (later, _) in itertools.combinations(TABLE, 2):
        assert not issubclass(later, earlier), f"{later.__name__} would never match after {earlier.__name__}"


def test_a_full_queue_is_engine_busy_with_retry_after_not_a_generic_engine_error():
    problem = problem_for(EngineBusyError("the clone is busy", retry_after_s=4))
    assert (problem.status, problem.code, problem.headers()) == (503, "engine_busy", {"Retry-After": "4"})
    frame = _error_frame("r1", EngineBusyError("the clone is busy", retry_after_s=4))
    assert (frame.status, frame.code, frame.retry_after_s) == (503, "engine_busy", 4)
    assert problem_for(PromptTooLongError("too long")).code == "engine_error"
    assert problem_for(EngineError("x")).headers() is None


def test_http_body_and_relay_frame_agree():
    for exc in (ContextOverflowError("the conversation is too long"), EngineError("model failed")):
        problem = problem_for(exc)
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
