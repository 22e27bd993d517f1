"""The Engine page's API: generation defaults the next request uses, load settings saved for the
next start (and said so), the models in models/base/ by readable name, and bad values refused per
field with nothing saved. Against the real model and the real config file."""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import pytest
import yaml

from aiclone_agent.core.config import parse_config
from tests.support.fixtures.agents import TEST_N_CTX
from tests.support.gguf_files import huge_count, nested_arrays, write_gguf

RESTART_FIELDS = ["base_model_path", "n_ctx", "n_threads", "n_gpu_layers", "parallel"]


def saved_model(agent) -> dict:
    return yaml.safe_load(agent.config_path.read_text())["model"]


def saved_config(agent) -> dict:
    """Everything the config file says, defaults filled in."""
    return parse_config(agent.config_path.read_text(), "config.yaml").model_dump()


@pytest.fixture
def spy_params(monkeypatch, engine) -> list:
    """The sampling parameters each request gave the real engine (it still generates as usual)."""
    seen: list = []
    real_generate = type(engine).generate

    def recording_generate(self, prompt, params, request_id, channel="api"):
        seen.append(params)
        return real_generate(self, prompt, params, request_id, channel)

    monkeypatch.setattr(type(engine), "generate", recording_generate)
    return seen


async def test_what_get_returns_put_takes_back_and_restart_settings_are_marked(agent):
    got = (await agent.client.get("/api/engine/settings")).json()
    assert got == {
        "temperature": 0.0,
        "top_p": 0.95,
        "max_tokens": 24,
        "n_ctx": TEST_N_CTX,
        "n_threads": 0,
        "n_gpu_layers": "auto",
        "parallel": 4,
        "base_model_path": "",
        "pending_restart": [],
        "restart_fields": RESTART_FIELDS,
    }
    before = saved_config(agent)
    round_trip = await agent.client.put("/api/engine/settings", json=got)
    assert round_trip.status_code == 200, round_trip.text
    assert round_trip.json() == got
    assert saved_config(agent) == before

    changed = {**got, "n_ctx": 1024, "n_threads": 2, "n_gpu_layers": 0, "parallel": 2, "temperature": 0.4}
    after = (await agent.client.put("/api/engine/settings", json=changed)).json()
    assert after["pending_restart"] == ["n_ctx", "n_threads", "n_gpu_layers", "parallel"]
    assert after["temperature"] == 0.4 and after["n_gpu_layers"] == 0
    on_disk = saved_model(agent)
    assert (on_disk["n_ctx"], on_disk["n_threads"], on_disk["n_gpu_layers"], on_disk["parallel"]) == (
        1024,
        2,
        0,
        2,
    )
    assert (await agent.client.get("/api/engine/settings")).json() == after
    status = (await agent.client.get("/api/status")).json()
    assert status["context_size"] == TEST_N_CTX  # the running engine keeps its context until a restart

    # a partial update keeps the rest; setting the running values back clears the mark
    restored = (
        await agent.client.put("/api/engine/settings", json={"n_ctx": TEST_N_CTX, "n_threads": 0})
    ).json()
    assert restored["pending_restart"] == ["n_gpu_layers", "parallel"] and restored["temperature"] == 0.4
    restored = (
        await agent.client.put("/api/engine/settings", json={"n_gpu_layers": "auto", "parallel": 4})
    ).json()
    assert restored["pending_restart"] == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"temperature": 2.5}, {"temperature": "less than or equal to 2"}),
        ({"temperature": "hot"}, {"temperature": "valid number"}),
        ({"top_p": 0}, {"top_p": "greater than 0"}),
        ({"max_tokens": 0}, {"max_tokens": "greater than or equal to 1"}),
        ({"max_tokens": TEST_N_CTX}, {"max_tokens": f"below the context size ({TEST_N_CTX} tokens)"}),
        ({"n_ctx": 100}, {"n_ctx": "greater than or equal to 256"}),
        ({"n_ctx": 8192, "max_tokens": 4096}, {"max_tokens": f"runs with now ({TEST_N_CTX} tokens)"}),
        ({"n_threads": -1}, {"n_threads": "greater than or equal to 0"}),
        ({"n_gpu_layers": "lots"}, {"n_gpu_layers": "auto or a whole number"}),
        ({"n_gpu_layers": -5}, {"n_gpu_layers": "auto or a whole number"}),
        (
            {"parallel": 0, "temperature": 9},
            {"parallel": "greater than or equal to 1", "temperature": "less than"},
        ),
        ({"base_model_path": "models/base/nothing-here.gguf"}, {"base_model_path": "cannot be read"}),
        ({"colour": "red"}, {"colour": "Extra inputs are not permitted"}),
    ],
)
async def test_bad_values_are_refused_per_field_and_nothing_is_saved(agent, body: dict, fields: dict):
    before_file = agent.config_path.read_bytes()
    before = (await agent.client.get("/api/engine/settings")).json()
    response = await agent.client.put("/api/engine/settings", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error["fields"]) == set(fields)
    for field, needle in fields.items():
        assert needle in error["fields"][field], error
        assert field in error["message"]
    assert error["param"] in fields
    assert agent.config_path.read_bytes() == before_file
    assert (await agent.client.get("/api/engine/settings")).json() == before


async def test_sampling_defaults_apply_to_the_next_request(agent, spy_params):
    await agent.client.put("/api/engine/settings", json={"temperature": 1.3, "top_p": 0.8, "max_tokens": 3})
    answer = (
        await agent.client.post("/api/chat/test", json={"message": "Tell me a long story about a cat."})
    ).json()
    assert answer["usage"]["completion_tokens"] == 3 and answer["finish_reason"] == "length"
    assert (spy_params[-1].temperature, spy_params[-1].top_p, spy_params[-1].max_tokens) == (1.3, 0.8, 3)

    await agent.client.put("/api/engine/settings", json={"temperature": 0.0, "max_tokens": 5})
    body = {"model": "my-clone", "messages": [{"role": "user", "content": "Tell me a long story."}]}
    completion = (await agent.client.post("/v1/chat/completions", json=body)).json()
    assert completion["usage"]["completion_tokens"] == 5  # the OpenAI API takes the new default too
    assert (spy_params[-1].temperature, spy_params[-1].max_tokens) == (0.0, 5)


async def test_models_in_models_base_are_listed_and_picked(agent, model_path: Path, engine):
    base = agent.runtime.env.models_dir / "base"
    base.mkdir(parents=True)
    (base / model_path.name).symlink_to(model_path)
    other = write_gguf(base / "model.gguf", name="Tiny Llama Chat", file_type=gguf.LlamaFileType.MOSTLY_Q8_0)
    (base / "broken.gguf").write_bytes(os.urandom(10_000))

    listing = (await agent.client.get("/api/engine/models")).json()
    by_file = {entry["file"]: entry for entry in listing["models"]}
    assert sorted(by_file) == sorted(["broken.gguf", "model.gguf", model_path.name])
    real = by_file[model_path.name]
    assert real["name"] == "SmolLM2 135M Instruct · Q4_1" and real["quantization"] == "Q4_1"
    assert real["size_bytes"] == model_path.stat().st_size  # noqa: ASYNC240
    assert real["running"] is True and real["saved"] is False
    assert (
        by_file["model.gguf"]["name"] == "Tiny Llama Chat · Q8_0"
        and by_file["model.gguf"]["running"] is False
    )
    assert by_file["broken.gguf"]["name"] is None
    assert "broken.gguf is not a valid GGUF model" in by_file["broken.gguf"]["error"]
    status = (await agent.client.get("/api/status")).json()
    assert status["model"]["display_name"] == "SmolLM2 135M Instruct · Q4_1"

    # a file that is no model is refused, with the reason, and the saved choice stays
    before = agent.config_path.read_bytes()
    refused = await agent.client.put(
        "/api/engine/settings", json={"base_model_path": by_file["broken.gguf"]["path"]}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "base_model_path"
    assert "broken.gguf is not a valid GGUF model" in refused.json()["error"]["fields"]["base_model_path"]
    assert agent.config_path.read_bytes() == before

    # picking the model that runs already needs no restart; another one does
    same = (await agent.client.put("/api/engine/settings", json={"base_model_path": real["path"]})).json()
    assert same["pending_restart"] == [] and saved_model(agent)["base_model_path"] == real["path"]
    picked = (await agent.client.put("/api/engine/settings", json={"base_model_path": str(other)})).json()
    assert picked["pending_restart"] == ["base_model_path"]
    assert saved_model(agent)["base_model_path"] == str(other)
    listing = (await agent.client.get("/api/engine/models")).json()
    assert [m["file"] for m in listing["models"] if m["saved"]] == ["model.gguf"]
    assert engine.info.model_path == str(model_path)  # still serving the old one until a restart


async def test_hostile_gguf_headers_are_listed_as_unusable_with_their_reason(agent, model_path: Path):
    base = agent.runtime.env.models_dir / "base"
    base.mkdir(parents=True)
    (base / model_path.name).symlink_to(model_path)
    nested_arrays(base)  # 10,000 nested arrays: RecursionError in an unbounded reader
    huge_count(base)  # an array of 2**40 items

    answer = await agent.client.get("/api/engine/models")
    assert answer.status_code == 200
    by_file = {entry["file"]: entry for entry in answer.json()["models"]}
    assert by_file[model_path.name]["error"] is None
    assert by_file["nested.gguf"]["name"] is None and by_file["huge.gguf"]["name"] is None
    assert (
        "nested.gguf is not a valid GGUF model (GGUF metadata key 'evil.nested' nests arrays more than 3 deep)"
        in (by_file["nested.gguf"]["error"])
    )
    assert (
        "huge.gguf is not a valid GGUF model (the GGUF header declares 1,099,511,627,776 items"
        in (by_file["huge.gguf"]["error"])
    )
    refused = await agent.client.put(
        "/api/engine/settings", json={"base_model_path": by_file["nested.gguf"]["path"]}
    )
    assert refused.status_code == 400
    assert "nests arrays more than 3 deep" in refused.json()["error"]["fields"]["base_model_path"]
