"""``model.n_gpu_layers: auto``: the layer plan from the real test GGUF's tensor sizes against given
VRAM figures, ``nvidia-smi`` output parsing (and a fake ``nvidia-smi`` on the PATH), the config key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import gguf
import numpy as np
import pytest
from pydantic import ValidationError

from aiclone_agent.bundle.gguf_header import read_gguf_header
from aiclone_agent.core.config import ConfigError, ConfigStore, ModelSection
from aiclone_agent.engine.gpu_offload import (
    MIB,
    GpuInfo,
    ModelFootprint,
    parse_nvidia_smi,
    plan_for_model,
    plan_offload,
    query_gpu,
    read_footprint,
)
from aiclone_agent.engine.selector import load_engine

N_CTX, PARALLEL = 2048, 4


@pytest.fixture(scope="module")
def footprint(model_path: Path) -> ModelFootprint:
    return read_footprint(model_path)


def gpu(free_mib: int, total_mib: int = 12_282) -> GpuInfo:
    return GpuInfo("NVIDIA GeForce RTX 4070", total_mib, total_mib - free_mib, free_mib)


def auto(footprint: ModelFootprint, free_mib: int, *, n_ctx: int = N_CTX, parallel: int = PARALLEL):
    return plan_offload("auto", footprint, n_ctx=n_ctx, parallel=parallel, gpu=gpu(free_mib))


def test_footprint_reads_every_layer_of_the_real_model(footprint: ModelFootprint, model_path: Path):
    # SmolLM2-135M: 30 blocks, 576-wide embeddings, 3 KV heads of 64, 49152-token vocabulary, tied output.
    assert footprint.n_layers == 30
    assert footprint.n_embd == 576 and footprint.n_vocab == 49_152
    assert set(footprint.kv_bytes_per_token) == {(64 + 64) * 3 * 2}
    assert len(set(footprint.layer_bytes)) == 1 and footprint.layer_bytes[0] > 1_000_000
    # Weights are most of the file: the blocks plus the (tied) embedding matrix.
    weights = sum(footprint.layer_bytes) + footprint.output_bytes
    assert 0.9 * model_path.stat().st_size < weights < model_path.stat().st_size


def test_the_header_scan_agrees_with_ggufs_own_reader(model_path: Path):
    from gguf import GGUFReader

    fields, tensors = read_gguf_header(model_path)
    reference = GGUFReader(str(model_path))  # slow (a numpy view per vocabulary string), exact
    assert [(t.name, t.n_bytes, t.shape) for t in tensors] == [
        (t.name, int(t.n_bytes), tuple(int(d) for d in t.shape)) for t in reference.tensors
    ]
    assert fields["llama.block_count"] == reference.fields["llama.block_count"].contents()
    assert fields["tokenizer.ggml.tokens"] == len(reference.fields["tokenizer.ggml.tokens"].contents())


def test_a_truncated_or_foreign_file_is_refused_with_a_reason(tmp_path: Path, model_path: Path):
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(model_path.read_bytes()[:4096])
    with pytest.raises(ValueError, match="truncated or unknown GGUF header"):
        read_footprint(truncated)
    # lengths near 2**64 overflow an offset and ask for absurd arrays (random bytes hit these)
    for key_length, n_items, says in (
        (2**63 + 5, 0, "truncated or unknown GGUF header"),
        (3, 2**62, "declares 4,611,686,018,427,387,904 items in the array 'abc'"),
    ):
        absurd = tmp_path / "absurd.gguf"
        header = b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + (1).to_bytes(8, "little")
        key = key_length.to_bytes(8, "little") + b"abc"
        # an ARRAY (9) of UINT8 (0) with n_items items
        array = (9).to_bytes(4, "little") + (0).to_bytes(4, "little") + n_items.to_bytes(8, "little")
        absurd.write_bytes(header + key + array + bytes(64))
        with pytest.raises(ValueError, match=says):
            read_footprint(absurd)
    foreign = tmp_path / "notes.gguf"
    foreign.write_bytes(b"PK\x03\x04" + bytes(64))
    with pytest.raises(ValueError, match="not a GGUF"):
        read_footprint(foreign)


def test_a_header_the_planner_cannot_read_never_stops_the_agent(tmp_path: Path, monkeypatch):
    foreign = tmp_path / "odd.gguf"
    foreign.write_bytes(b"GGUF" + (1).to_bytes(4, "little") + bytes(64))  # GGUF v1: long gone from llama.cpp
    monkeypatch.setenv("PATH", str(tmp_path / "no-gpu-here"))
    plan = plan_for_model("auto", foreign, n_ctx=N_CTX, parallel=PARALLEL, gpu_offload_supported=True)
    assert plan.n_gpu_layers == 0
    assert (
        plan.reason
        == "cannot read the layer sizes of odd.gguf (not a GGUF v2+ file); model.n_gpu_layers is auto"
    )
    assert (plan.reason_code, plan.reason_params) == (
        "gpu_header_unreadable",
        {"file": "odd.gguf", "setting": "auto"},
    )
    fixed = plan_for_model(20, foreign, n_ctx=N_CTX, parallel=PARALLEL, gpu_offload_supported=True)
    assert fixed.n_gpu_layers == 20  # a number in the config is used as it is


def lying_header(path: Path, block_count: int, head_count: list[int]) -> Path:
    """A readable GGUF whose layer metadata does not match its two tensors."""
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_uint64("llama.block_count", block_count)
    writer.add_head_count(head_count)  # a list: one value per layer
    for name in ("blk.0.attn_q.weight", "blk.1.attn_q.weight"):
        writer.add_tensor(name, np.zeros((4, 8), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.mark.parametrize(
    ("block_count", "head_count", "says"),
    [
        (2**40, [1], "llama.block_count is 1099511627776 but the file has 2 tensors"),  # [0] * 2**40
        (2, [1], "a per-layer array has 1 values for 2 layers"),  # an IndexError further on
    ],
)
def test_layer_metadata_the_tensors_contradict_is_a_reason_not_a_crash(
    tmp_path: Path, monkeypatch, block_count: int, head_count: list[int], says: str
):
    lying = lying_header(tmp_path / "lying.gguf", block_count, head_count)
    monkeypatch.setenv("PATH", str(tmp_path / "no-gpu-here"))
    plan = plan_for_model("auto", lying, n_ctx=N_CTX, parallel=PARALLEL, gpu_offload_supported=True)
    assert plan.n_gpu_layers == 0 and f"cannot read the layer sizes of lying.gguf ({says})" in plan.reason


def test_everything_fits_in_a_12_gb_card(footprint: ModelFootprint):
    plan = auto(footprint, free_mib=11_500)
    assert plan.n_gpu_layers == -1
    assert (
        plan.layers_offloaded == plan.layers_total == 31
    )  # 30 blocks + the output layer, as llama.cpp counts
    assert plan.reason.startswith("all 31 layers fit")
    assert plan.reason_code == "gpu_all_fit"
    assert plan.reason_params == {
        "total": 31,
        "needed_mib": plan.needed_mib,
        "free_mib": 11_500,
        "kv_tokens": 8192,
    }
    assert "8192 tokens of KV cache (2048 x 4 sequences)" in plan.reason
    assert plan.as_status()["name"] == "NVIDIA GeForce RTX 4070"


def test_only_some_layers_fit_and_exactly_as_many_as_the_free_vram_holds(footprint: ModelFootprint):
    kv_tokens = N_CTX * PARALLEL
    whole = footprint.bytes_for(footprint.n_layers, kv_tokens, with_output=True)
    free_mib = (footprint.bytes_for(12, kv_tokens, with_output=False) + MIB // 2) // MIB
    assert free_mib * MIB < whole
    plan = auto(footprint, free_mib)
    assert 0 < plan.n_gpu_layers < footprint.n_layers
    n = plan.n_gpu_layers
    assert (
        footprint.bytes_for(n, kv_tokens, False)
        <= free_mib * MIB
        < footprint.bytes_for(n + 1, kv_tokens, False)
    )
    assert plan.layers_offloaded == n and plan.layers_total == 31
    assert plan.reason.startswith(f"{n} of 31 layers fit in {free_mib} MiB free VRAM")
    assert plan.reason_code == "gpu_some_fit"
    assert (plan.reason_params["fit"], plan.reason_params["free_mib"]) == (n, free_mib)


def test_nothing_fits_in_a_full_card(footprint: ModelFootprint):
    plan = auto(footprint, free_mib=200)
    assert (plan.n_gpu_layers, plan.layers_offloaded) == (0, 0)
    assert "no layer fits in 200 MiB free VRAM" in plan.reason
    assert plan.as_status()["reason_code"] == "gpu_none_fit"


def test_more_parallel_sequences_leave_room_for_fewer_layers(footprint: ModelFootprint):
    free_mib = (footprint.bytes_for(20, 4096 * 2, with_output=False)) // MIB
    few = auto(footprint, free_mib, n_ctx=4096, parallel=2)
    many = auto(footprint, free_mib, n_ctx=4096, parallel=16)
    assert many.n_gpu_layers < few.n_gpu_layers


def test_no_gpu_and_no_cuda_build_mean_the_cpu_with_the_reason(footprint: ModelFootprint):
    none = plan_offload(
        "auto",
        footprint,
        n_ctx=N_CTX,
        parallel=PARALLEL,
        gpu=None,
        no_gpu_reason="no NVIDIA GPU (nvidia-smi not found)",
    )
    assert (none.n_gpu_layers, none.layers_offloaded, none.gpu) == (0, 0, None)
    assert none.reason == "no NVIDIA GPU (nvidia-smi not found)"
    cpu_build = plan_offload(
        "auto", footprint, n_ctx=N_CTX, parallel=PARALLEL, gpu=gpu(11_000), gpu_offload_supported=False
    )
    assert cpu_build.n_gpu_layers == 0 and "built without CUDA" in cpu_build.reason
    assert (none.reason_code, cpu_build.reason_code) == ("gpu_not_found", "gpu_no_cuda")


def test_a_number_in_the_config_is_passed_on_as_it_is(footprint: ModelFootprint):
    plan = plan_offload(12, footprint, n_ctx=N_CTX, parallel=PARALLEL, gpu=gpu(200))
    assert (plan.n_gpu_layers, plan.layers_offloaded, plan.setting) == (12, 12, "12")
    assert plan.reason == "model.n_gpu_layers is 12 in the config"
    assert (plan.reason_code, plan.reason_params) == ("gpu_layers_configured", {"setting": 12})
    everything = plan_offload(-1, footprint, n_ctx=N_CTX, parallel=PARALLEL, gpu=gpu(200))
    assert (everything.n_gpu_layers, everything.layers_offloaded) == (-1, 31)


def test_nvidia_smi_rows_are_parsed():
    text = (
        "NVIDIA GeForce RTX 4070, 12282, 1015, 11030\n"
        "NVIDIA RTX A6000, Ada, 49140, 0, 48677\n"  # a comma inside the name
        "\n"
    )
    assert parse_nvidia_smi(text) == [
        GpuInfo("NVIDIA GeForce RTX 4070", 12282, 1015, 11030),
        GpuInfo("NVIDIA RTX A6000, Ada", 49140, 0, 48677),
    ]
    with pytest.raises(ValueError, match="unexpected nvidia-smi line"):
        parse_nvidia_smi("NVIDIA GeForce RTX 4070, [N/A], 1, 2\n")
    with pytest.raises(ValueError, match="unexpected nvidia-smi line"):
        parse_nvidia_smi("No devices were found\n")


def fake_nvidia_smi(bin_dir: Path, body: str) -> None:
    """An ``nvidia-smi`` on the PATH that prints ``body`` (the environment, not the code under test)."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "nvidia-smi"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_query_gpu_reads_the_first_gpu_from_nvidia_smi(tmp_path: Path, monkeypatch):
    fake_nvidia_smi(
        tmp_path / "bin",
        'echo "NVIDIA GeForce RTX 4070, 12282, 1015, 11030"; echo "NVIDIA T4, 15360, 0, 14900"',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert query_gpu() == (GpuInfo("NVIDIA GeForce RTX 4070", 12282, 1015, 11030), "", "")


def test_query_gpu_says_why_there_is_none(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert query_gpu() == (None, "no NVIDIA GPU (nvidia-smi not found)", "gpu_not_found")
    fake_nvidia_smi(
        tmp_path / "bin",
        'echo "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver." >&2; exit 9',
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    gpu_found, why, _code = query_gpu()
    assert gpu_found is None
    assert (
        why
        == "no NVIDIA GPU (nvidia-smi: NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.)"
    )


def test_a_failing_nvidia_smi_reaches_the_page_as_a_code_not_its_words(
    tmp_path: Path, monkeypatch, model_path: Path
):
    """nvidia-smi's own sentence stays in ``reason`` (the log); the Status page says the code."""
    fake_nvidia_smi(
        tmp_path / "bin", 'echo "Failed to initialize NVML: Driver/library version mismatch" >&2; exit 18'
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    plan = plan_for_model("auto", model_path, n_ctx=N_CTX, parallel=PARALLEL, gpu_offload_supported=True)
    assert "NVML" in plan.reason
    assert plan.as_status()["reason_code"] == "gpu_query_failed"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    gone = plan_for_model("auto", model_path, n_ctx=N_CTX, parallel=PARALLEL, gpu_offload_supported=True)
    assert gone.reason_code == "gpu_not_found"


def test_loading_with_a_gpu_but_a_cpu_only_llama_cpp_stays_on_the_cpu_and_says_why(
    tmp_path: Path, monkeypatch, model_path: Path
):
    import llama_cpp

    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama.cpp was built with GPU support")
    fake_nvidia_smi(tmp_path / "bin", 'echo "NVIDIA GeForce RTX 4070, 12282, 1015, 11030"')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    engine = load_engine(ModelSection(base_model_path=str(model_path), n_ctx=512), model_path.parent)
    try:
        assert engine.info.gpu is not None
        status = engine.info.gpu.as_status()
        assert status["name"] == "NVIDIA GeForce RTX 4070" and status["vram_total_mib"] == 12282
        assert status["layers_offloaded"] == 0 and "built without CUDA" in status["reason"]
        assert engine.info.n_gpu_layers == 0
    finally:
        import asyncio

        asyncio.run(engine.close())


def test_config_takes_auto_or_a_layer_count(tmp_path: Path):
    assert ModelSection().n_gpu_layers == "auto"
    assert ModelSection().parallel == 4
    assert ModelSection(n_gpu_layers=-1).n_gpu_layers == -1
    assert ModelSection(n_gpu_layers=0).n_gpu_layers == 0
    assert ModelSection(n_gpu_layers=33).n_gpu_layers == 33
    for bad in ("max", -2, 1001, 2.5):
        with pytest.raises(ValidationError):
            ModelSection(n_gpu_layers=bad)
    store = ConfigStore(tmp_path / "config.yaml")
    store.update(lambda data: data["model"].update(n_gpu_layers=20))
    assert ConfigStore(tmp_path / "config.yaml").current.model.n_gpu_layers == 20
    store.update(lambda data: data["model"].update(n_gpu_layers="auto"))  # what a GET shows, a PUT takes
    assert ConfigStore(tmp_path / "config.yaml").current.model.n_gpu_layers == "auto"
    with pytest.raises(ConfigError, match=r"model\.n_gpu_layers"):
        store.update(lambda data: data["model"].update(n_gpu_layers="all"))
    assert ConfigStore(tmp_path / "config.yaml").current.model.n_gpu_layers == "auto"
