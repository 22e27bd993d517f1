"""llama.cpp's log reaches Python logging at its real level: an error that stops a model from
loading is in the agent's log, and the notes of a step interrupted on purpose are debug, not
lines on stderr."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aiclone_agent.engine.base import ModelLoadError
from aiclone_agent.engine.llama_batch.context import DecodeError, LlamaContext
from tests.support.gguf_files import write_gguf


def test_why_llama_cpp_refused_a_model_is_said_and_logged_as_an_error(tmp_path: Path, caplog, capfd):
    broken = write_gguf(tmp_path / "broken.gguf", name="broken", file_type=2)  # no layers: unloadable
    caplog.set_level(logging.ERROR, logger="llama.cpp")
    with pytest.raises(ModelLoadError) as raised:
        LlamaContext.load(broken, n_ctx=256, n_batch=64, parallel=1, n_gpu_layers=0, n_threads=1)
    assert "key not found in model: llama.context_length" in str(raised.value)  # the error says why
    assert raised.value.code == "model_load_failed" and raised.value.params == {"file": "broken.gguf"}
    errors = [r for r in caplog.records if r.name == "llama.cpp" and r.levelno == logging.ERROR]
    # llama-cpp-python's own mapping dropped this line as debug
    assert any("key not found in model" in r.getMessage() for r in errors), [r.getMessage() for r in errors]
    assert "error loading model" not in capfd.readouterr().err  # logged, not printed past logging


def test_an_interrupted_step_is_noted_at_debug_and_not_printed(model_path: Path, caplog, capfd):
    context = LlamaContext.load(model_path, n_ctx=256, n_batch=64, parallel=1, n_gpu_layers=0, n_threads=1)
    try:
        caplog.set_level(logging.DEBUG, logger="llama.cpp")
        context.decode([(1000 + i, i, 0, i == 9) for i in range(10)])
        context.interrupt()
        with pytest.raises(DecodeError):
            context.decode([(5, 10, 0, True)])
        context.clear_interrupt()
    finally:
        context.close()
    notes = [r for r in caplog.records if "removing memory module entries" in r.getMessage()]
    assert notes and all(r.levelno == logging.DEBUG for r in notes)
    # nor is the abort itself an error: the decode loop asked for it
    assert any("failed to decode, ret = 2" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "removing memory module entries" not in capfd.readouterr().err
