"""``POST /api/engine/reload`` on a real agent: saved settings apply without a restart, a running
answer finishes first, and a model that fails to load leaves the previous engine serving."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.fixtures.agents import AgentProcess

pytestmark = pytest.mark.process


def settled_reload(http: httpx.Client, timeout: float = 180) -> dict:
    """``/api/status.engine_reload`` once it has left draining/loading (bounded poll)."""
    deadline = time.monotonic() + timeout
    while True:
        status = http.get("/api/status").json()
        if status["engine_reload"]["state"] not in ("draining", "loading"):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"the reload did not settle in {timeout}s: {status['engine_reload']}")
        time.sleep(0.05)


def test_saved_settings_apply_in_process_after_the_running_answer(agent_process: AgentProcess):
    with httpx.Client(base_url=agent_process.url, timeout=120) as http:
        assert http.get("/api/status").json()["engine"]["parallel"] == 4
        streamed: list[str] = []
        first = threading.Event()

        def stream() -> None:
            body = {
                "model": "my-clone",
                "messages": [{"role": "user", "content": "Count from 1 to 50."}],
                "max_tokens": 120,
                "temperature": 0,
                "stream": True,
            }
            with httpx.stream(
                "POST", f"{agent_process.url}/v1/chat/completions", json=body, timeout=180
            ) as answer:
                for line in answer.iter_lines():
                    if line:
                        streamed.append(line)
                        first.set()

        reader = threading.Thread(target=stream)
        reader.start()
        assert first.wait(120)
        assert http.put("/api/engine/settings", json={"parallel": 2}).json()["pending_restart"] == [
            "parallel"
        ]
        started = http.post("/api/engine/reload")
        assert started.status_code == 202, started.text
        assert started.json()["state"] == "draining"
        status = settled_reload(http)
        reader.join(180)
        assert streamed[-1] == "data: [DONE]"  # the answer that ran during the reload ended whole
        assert status["engine_reload"]["state"] == "done", status["engine_reload"]
        assert status["engine"]["parallel"] == 2
        assert http.get("/api/engine/settings").json()["pending_restart"] == []
        answer = http.post(
            "/v1/chat/completions",
            json={"model": "my-clone", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
        )
        assert answer.json()["choices"][0]["message"]["content"]


def test_a_model_that_fails_to_load_leaves_the_previous_engine_serving(
    agent_process: AgentProcess, model_path: Path
):
    copy = agent_process.home / "copy.gguf"
    shutil.copyfile(model_path, copy)
    with httpx.Client(base_url=agent_process.url, timeout=120) as http:
        saved = http.put("/api/engine/settings", json={"base_model_path": str(copy)})
        assert saved.status_code == 200, saved.text
        copy.write_bytes(model_path.read_bytes()[: 8 << 20])  # broken after it was chosen
        assert http.post("/api/engine/reload").status_code == 202
        status = settled_reload(http)
        assert status["engine_reload"]["state"] == "failed"
        assert "copy.gguf" in status["engine_reload"]["error"]  # llama.cpp's view, for the log
        # what the Engine page says, in its language
        assert status["engine_reload"]["error_code"] == "model_load_failed"
        assert status["engine_reload"]["error_params"] == {"file": "copy.gguf"}
        assert Path(status["model"]["path"]).name == model_path.name
        copy.unlink()  # gone after it was chosen
        assert http.post("/api/engine/reload").status_code == 202
        missing = settled_reload(http)["engine_reload"]
        assert (missing["state"], missing["error_code"], missing["error_params"]) == (
            "failed",
            "model_file_missing",
            {},
        )
        answer = http.post(
            "/v1/chat/completions",
            json={"model": "my-clone", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
        )
        assert answer.json()["choices"][0]["message"]["content"]
