"""Status, health and Prometheus metrics."""

from __future__ import annotations


async def test_status_says_which_backend_runs_and_why(agent):
    body = (await agent.client.get("/api/status")).json()
    assert body["backend"] == "llama_cpp"
    assert "TensorRT-LLM" in body["backend_reason"]
    assert body["context_size"] == 2048
    assert body["network_mode"] == "offline"
    assert body["model"]["path"].endswith(".gguf")
    assert body["uptime_s"] >= 0


async def test_healthz(agent):
    assert (await agent.client.get("/healthz")).json() == {"status": "ok"}


async def test_metrics_count_requests_tokens_and_latency(agent):
    await agent.client.post("/api/chat/test", json={"message": "hello", "max_tokens": 5})
    text = (await agent.client.get("/metrics")).text
    assert 'aiclone_generated_tokens_total{channel="owner"} 5.0' in text
    assert 'aiclone_time_to_first_token_seconds_count{channel="owner"} 1.0' in text
    assert 'aiclone_decode_tokens_per_second_count{channel="owner"} 1.0' in text
    assert 'aiclone_http_requests_total{method="POST",route="/api/chat/test",status="200"} 1.0' in text
    # the engine's own counters, the prompt lane's among them (on a CPU: enabled, nothing read yet)
    assert "aiclone_engine_steps_total" in text and "aiclone_engine_prompt_lane_reads_total 0.0" in text
    lane = (await agent.client.get("/api/status")).json()["engine"]["prompt_lane"]
    assert lane["enabled"] is True and lane["handoffs"] == 0


async def test_status_shows_the_gpu_and_how_many_layers_went_onto_it(agent):
    import shutil

    gpu = (await agent.client.get("/api/status")).json()["gpu"]
    assert gpu["n_gpu_layers"] == "auto"  # the default
    assert gpu["layers_total"] == 31  # the test model's 30 blocks + its output layer
    if shutil.which("nvidia-smi") is None:
        assert gpu["name"] is None and gpu["layers_offloaded"] == 0
        assert gpu["reason"] == "no NVIDIA GPU (nvidia-smi not found)"
        assert gpu["reason_code"] == "gpu_not_found"
    else:
        assert gpu["name"] and gpu["vram_total_mib"] > 0 and gpu["reason"]
        assert gpu["reason_code"] in {"gpu_all_fit", "gpu_some_fit", "gpu_none_fit", "gpu_no_cuda"}


async def test_status_gives_each_reason_a_code_the_page_says_in_its_language(agent):
    """The English reasons stay (API clients read them); a person reads the codes (EN/RU)."""
    body = (await agent.client.get("/api/status")).json()
    assert body["backend_reason_code"] == "backend_tensorrt_missing"  # not installed here
    assert body["backend_reason_params"] == {}
    model = body["model"]
    assert model["chosen_because"] and model["chosen_because_code"] == "model_configured"
    assert model["chosen_because_params"] == {}


async def test_status_says_the_knowledge_base_search_is_hybrid(agent):
    assert (await agent.client.get("/api/status")).json()["rag"] == {
        "search": "hybrid",
        "note": None,
        "note_code": None,
    }
