"""The models an owner can pick: readable names from the real GGUF's header and file name, and
files that are no GGUF model listed with the reason instead of a name."""

from __future__ import annotations

import os
from pathlib import Path

import gguf
import pytest

from aiclone_agent.bundle.model_catalog import NotAModelError, describe_model_file, list_models, readable_name
from tests.support.gguf_files import write_gguf


def test_the_real_model_gets_a_name_people_can_read(model_path: Path):
    described = describe_model_file(model_path)
    # general.name in this GGUF is "Smollm2 135M 8k Lc100K Mix1 Ep2": the file name says more.
    assert described.name == "SmolLM2 135M Instruct · Q4_1"
    assert described.quantization == "Q4_1"
    assert described.architecture == "llama"
    assert described.size_bytes == model_path.stat().st_size
    assert described.error is None


@pytest.mark.parametrize(
    ("file_name", "fields", "expected"),
    [
        (
            "mistral-7b-instruct-v0.2.Q4_K_M.gguf",
            {"general.file_type": 15},
            "mistral 7b instruct v0.2 · Q4_K_M",
        ),
        ("Qwen2.5-7B-Instruct-IQ3_XXS.gguf", {}, "Qwen2.5 7B Instruct · IQ3_XXS"),  # no file type: the tag
        (
            "model.gguf",
            {"general.name": "Llama 3.2 1B Instruct", "general.file_type": 1},
            "Llama 3.2 1B Instruct · F16",
        ),
        ("ggml-model-q4_0.gguf", {"general.name": "Phi 3 Mini", "general.file_type": 2}, "Phi 3 Mini · Q4_0"),
        ("sha256-" + "ab" * 32 + ".gguf", {"general.name": "Gemma 2 2B"}, "Gemma 2 2B"),
        ("my_finetune.gguf", {"general.file_type": 0}, "my finetune · F32"),
    ],
)
def test_readable_names(file_name: str, fields: dict, expected: str):
    assert readable_name(fields, file_name) == expected


def test_a_generic_file_name_takes_the_name_written_in_the_gguf(tmp_path: Path):
    path = write_gguf(
        tmp_path / "model.gguf", name="Tiny Llama Chat", file_type=gguf.LlamaFileType.MOSTLY_Q8_0
    )
    assert describe_model_file(path).name == "Tiny Llama Chat · Q8_0"


def test_files_that_are_no_model_are_listed_with_the_reason(tmp_path: Path, model_path: Path):
    (tmp_path / model_path.name).symlink_to(model_path)
    (tmp_path / "garbage.gguf").write_bytes(os.urandom(4096))
    (tmp_path / "cut.gguf").write_bytes(model_path.read_bytes()[:2000])  # a download stopped early
    write_gguf(tmp_path / "lora.gguf", name="my adapter", file_type=None, kind="adapter")
    (tmp_path / "notes.txt").write_text("not listed: not a .gguf")

    listed = {entry.file: entry for entry in list_models(tmp_path)}
    assert sorted(listed) == sorted([model_path.name, "cut.gguf", "garbage.gguf", "lora.gguf"])
    real = listed[model_path.name]
    assert real.name == "SmolLM2 135M Instruct · Q4_1" and real.error is None
    assert listed["garbage.gguf"].name is None
    assert "garbage.gguf is not a valid GGUF model" in (listed["garbage.gguf"].error or "")
    assert listed["garbage.gguf"].size_bytes == 4096
    assert "cut.gguf is not a valid GGUF model (truncated" in (listed["cut.gguf"].error or "")
    assert "LoRA adapter, not a base model" in (listed["lora.gguf"].error or "")
    # what the Engine page says of each, in its language (the reader's words above are for the log)
    assert {file: model.error_code for file, model in listed.items()} == {
        model_path.name: None,
        "garbage.gguf": "model_not_gguf",
        "cut.gguf": "model_not_gguf",
        "lora.gguf": "model_is_adapter",
    }
    with pytest.raises(NotAModelError, match="cannot be read"):
        describe_model_file(tmp_path / "missing.gguf")


def test_no_folder_means_no_models(tmp_path: Path):
    assert list_models(tmp_path / "nowhere") == []
