"""The adapter in the running agent: applied from models/lora/, shown in /api/status, rescaled
live from the admin API, and a broken adapter leaves the base model serving with the reason."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml

from aiclone_agent.adapter.errors import AdapterError
from tests.local_inference.adapter.models import write_peft_adapter, write_tiny_qwen2
from tests.support.fixtures.agents import AgentProcess, write_config

QUESTION = {
    "messages": [{"role": "user", "content": "Say something about the sea."}],
    "temperature": 0,
    "max_tokens": 16,
}
ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def answer(url: str) -> str:
    response = httpx.post(f"{url}/v1/chat/completions", json={"model": "my-clone", **QUESTION}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


@pytest.mark.process
def test_adapter_applied_changes_answers_and_scale_changes_live(tmp_path: Path, model_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    plain = AgentProcess(tmp_path / "plain", model_path).start(timeout=180)
    try:
        base_answer = answer(plain.url)
    finally:
        plain.stop()
    home = tmp_path / "clone"
    home.mkdir()
    write_peft_adapter(
        home / "models" / "lora", model_path, layers=range(0, 30, 3), rank=8, alpha=16, magnitude=0.1
    )
    config = write_config(
        home / "config.yaml", model={"base_model_path": str(model_path), "hf_model_path": str(tmp_path)}
    )
    agent = AgentProcess(home, model_path, config).start(timeout=180)
    try:
        adapter = agent.settled_adapter()
        status = httpx.get(f"{agent.url}/api/status").json()
        assert adapter["state"] == "applied", adapter
        assert (adapter["rank"], adapter["alpha"], adapter["scale"], adapter["targets"]) == (
            8,
            16.0,
            1.0,
            ALL,
        )
        assert adapter["path"] == str(home / "models" / "lora")
        # auto preferred TensorRT-LLM (an HF folder is set) and fell back, saying why
        assert (
            status["backend"] == "llama_cpp" and "TensorRT-LLM is not installed" in status["backend_reason"]
        )
        assert list((home / "data" / "adapters").glob("*.gguf")), (
            "the converted adapter is cached in the data dir"
        )

        with_adapter = answer(agent.url)
        assert with_adapter != base_answer

        off = httpx.put(f"{agent.url}/api/adapter", json={**adapter, "scale": 0.0})
        assert off.status_code == 200 and off.json()["scale"] == 0.0
        assert answer(agent.url) == base_answer  # 0 = off, and no cached prefix from before leaks in
        back = httpx.put(
            f"{agent.url}/api/adapter", json=httpx.get(f"{agent.url}/api/adapter").json() | {"scale": 1.0}
        )
        assert back.json() == adapter  # what GET returned, PUT accepted
        assert answer(agent.url) == with_adapter
        assert yaml.safe_load(config.read_text())["model"]["lora_scale"] == 1.0

        bad = httpx.put(f"{agent.url}/api/adapter", json={**adapter, "scale": 9})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "scale"
    finally:
        agent.stop()


def broken_wrong_model(lora: Path, model_path: Path, tmp: Path) -> str:
    qwen = write_tiny_qwen2(tmp / "tiny-qwen2.gguf", model_path)
    write_peft_adapter(lora, qwen, layers=(0,), rank=4, alpha=8, base_model_name="Qwen/Qwen2.5-7B-Instruct")
    return "trained for another base model (Qwen/Qwen2.5-7B-Instruct)"


broken_wrong_model.code = "adapter_wrong_base"  # type: ignore[attr-defined]


def broken_embeddings(lora: Path, model_path: Path, tmp: Path) -> str:
    extra = {"base_model.model.model.embed_tokens.lora_embedding_A": np.zeros((4, 49152), np.float32)}
    write_peft_adapter(lora, model_path, layers=(0,), rank=4, alpha=8, extra_tensors=extra)
    return "token embeddings"


broken_embeddings.code = "adapter_unsupported"  # type: ignore[attr-defined]


def broken_corrupt(lora: Path, model_path: Path, tmp: Path) -> str:
    write_peft_adapter(lora, model_path, layers=(0,), rank=4, alpha=8)
    (lora / "adapter_model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage")
    return "corrupt"


broken_corrupt.code = "adapter_invalid"  # type: ignore[attr-defined]


def broken_architecture(lora: Path, model_path: Path, tmp: Path) -> str:
    from aiclone_agent.adapter.gguf_lora import convert_peft_to_gguf

    qwen = write_tiny_qwen2(tmp / "tiny-qwen2.gguf", model_path)
    write_peft_adapter(tmp / "peft", qwen, layers=(0,), rank=4, alpha=8)
    lora.mkdir(parents=True)
    convert_peft_to_gguf(tmp / "peft", lora / "clone.gguf", qwen, progress=False)
    return "LoRA for the qwen2 architecture but the base model is llama"


broken_architecture.code = "adapter_wrong_base"  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("make", [broken_wrong_model, broken_embeddings, broken_corrupt, broken_architecture])
async def test_broken_adapter_leaves_the_base_model_serving(
    agent, model_path: Path, tmp_path: Path, make
) -> None:
    says = make(agent.runtime.env.models_dir / "lora", model_path, tmp_path)
    await agent.runtime.adapter.start()

    status = (await agent.client.get("/api/status")).json()["adapter"]
    assert status["state"] == "failed"
    assert says in status["reason"] and "the base model is serving" in status["reason"]
    assert "Traceback" not in status["reason"]
    assert status["reason_code"] == make.code  # what the Engine page says, in its language
    reply = await agent.client.post("/v1/chat/completions", json={"model": "my-clone", **QUESTION})
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
    refused = await agent.client.put("/api/adapter", json={**status, "scale": 0.5})
    assert refused.status_code == 409 and "no adapter is applied" in refused.json()["error"]["message"]


async def test_no_adapter_is_state_none(agent) -> None:
    await agent.runtime.adapter.start()
    status = (await agent.client.get("/api/adapter")).json()
    assert status["state"] == "none" and "no adapter in" in status["reason"]
    assert status["reason_code"] == "adapter_none"  # the Engine page says it in its language


async def test_an_adapter_path_that_does_not_exist_is_a_code_not_the_path_sentence(
    agent, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-lora"
    agent.runtime.config.update(lambda data: data["model"].__setitem__("lora_path", str(missing)))
    try:
        await agent.runtime.adapter.start()
        status = (await agent.client.get("/api/adapter")).json()
    finally:
        agent.runtime.config.update(lambda data: data["model"].__setitem__("lora_path", ""))
    assert status["state"] == "failed" and "does not exist" in status["reason"]  # for the log and API clients
    assert status["reason_code"] == "adapter_not_found"  # what the page says, in its language


BOMB = "(.|.)*(.|.)*x$"  # exponential for a backtracking regex on any module name without an x


@pytest.mark.process
def test_a_hostile_pattern_is_refused_and_the_agent_serves_and_stops(
    tmp_path: Path, model_path: Path
) -> None:
    lora = tmp_path / "models" / "lora"
    write_peft_adapter(lora, model_path, layers=(0,), rank=4, alpha=8)
    config = json.loads((lora / "adapter_config.json").read_text())
    config["rank_pattern"] = config["alpha_pattern"] = {BOMB: 8}
    (lora / "adapter_config.json").write_text(json.dumps(config))
    agent = AgentProcess(tmp_path, model_path).start(timeout=180)
    try:
        adapter = agent.settled_adapter()
        assert adapter["state"] == "failed", adapter
        assert f"key {BOMB!r} repeats a group" in adapter["reason"]
        assert "the base model is serving" in adapter["reason"]
        assert answer(agent.url)
    finally:
        agent.proc.send_signal(signal.SIGTERM)
        try:
            agent.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            agent.stop(signal.SIGKILL)
            pytest.fail("the agent ignored SIGTERM")
    assert agent.proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
    assert "Application shutdown complete" in agent.log.read_text()


async def test_the_adapter_loads_in_the_background_and_a_slow_one_is_given_up(
    agent, model_path: Path
) -> None:
    write_peft_adapter(agent.runtime.env.models_dir / "lora", model_path, layers=range(30), rank=8, alpha=16)
    agent.runtime.config.update(lambda data: data["model"].__setitem__("lora_timeout_s", 0.001))
    service = agent.runtime.adapter
    service.begin()  # returns at once: the load is a task
    assert service.status.state == "loading" and "the base model is serving" in service.status.reason
    with pytest.raises(AdapterError, match="still loading"):
        await service.set_scale(0.5)

    assert (await service.loaded()).state == "failed"
    status = (await agent.client.get("/api/adapter")).json()
    assert status["state"] == "failed"
    assert "took longer than 0.001 s (model.lora_timeout_s)" in status["reason"]
    assert "the base model is serving" in status["reason"]
    assert status["reason_code"] == "adapter_timeout"  # what the admin page says, in its language
    reply = await agent.client.post("/v1/chat/completions", json={"model": "my-clone", **QUESTION})
    assert reply.status_code == 200


def test_a_conversion_that_never_ends_does_not_hold_the_process_exit(tmp_path: Path) -> None:
    """What a SIGTERM during a conversion comes to: the event loop ends, the worker thread is not joined."""
    script = (
        "import asyncio, threading\n"
        "from aiclone_agent.adapter.service import _bounded\n"
        "async def main():\n"
        "    try:\n"
        "        await _bounded(threading.Event().wait, timeout=0.2)\n"
        "    except TimeoutError:\n"
        "        print('given up', flush=True)\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "given up\n", done.stderr
