"""With ``model.base_model_path`` empty the agent picks a usable GGUF in ``models/base/``: one broken
file beside a good one never stops it (in-process for the policy, a real agent for the start)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from aiclone_agent.bundle.base_model_choice import LAST_CHOSEN_FILE, choose_base_model
from aiclone_agent.bundle.model_files import ModelMissingError
from tests.support.fixtures.agents import AgentProcess, write_config
from tests.support.gguf_files import write_gguf


def _aged(path: Path, seconds_ago: int) -> Path:
    stamp = path.stat().st_mtime - seconds_ago
    os.utime(path, (stamp, stamp))
    return path


def test_the_newest_usable_file_is_chosen_and_broken_ones_are_listed_with_their_reason(tmp_path: Path):
    _aged(write_gguf(tmp_path / "older.gguf", name="older", file_type=0), 100)
    newer = _aged(write_gguf(tmp_path / "newer.gguf", name="newer", file_type=0), 50)
    (tmp_path / "page.gguf").write_bytes(b"<html>502 Bad Gateway</html>")  # newest of all
    choice = choose_base_model("", tmp_path)
    assert choice.path == newer
    assert "newest usable" in choice.reason
    assert (choice.code, choice.params) == ("model_newest", {"file": "newer.gguf"})
    assert [b.file for b in choice.broken] == ["page.gguf"]
    assert "not a valid GGUF" in choice.broken[0].error
    assert (tmp_path / LAST_CHOSEN_FILE).read_text().strip() == "newer.gguf"


def test_the_file_chosen_last_time_stays_chosen_while_usable(tmp_path: Path):
    first = _aged(write_gguf(tmp_path / "first.gguf", name="first", file_type=0), 100)
    assert choose_base_model("", tmp_path).path == first
    write_gguf(tmp_path / "downloaded-later.gguf", name="later", file_type=0)
    again = choose_base_model("", tmp_path)
    assert again.path == first
    assert "chosen last time" in again.reason
    assert (again.code, again.params) == ("model_last_chosen", {"file": "first.gguf"})
    first.write_bytes(first.read_bytes()[:200])  # now cut short: the newest usable one takes over
    fallback = choose_base_model("", tmp_path)
    assert fallback.path.name == "downloaded-later.gguf"
    assert "first.gguf, chosen last time, is gone or broken" in fallback.reason
    assert fallback.code == "model_newest_last_gone"
    assert fallback.params == {"file": "downloaded-later.gguf", "last": "first.gguf"}


def test_a_header_whose_tensors_run_past_the_end_of_the_file_is_broken(tmp_path: Path, model_path: Path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(model_path.read_bytes()[: 8 << 20])  # the whole header, a fraction of the weights
    with pytest.raises(ModelMissingError, match=r"cut\.gguf is not a GGUF model"):
        choose_base_model("", tmp_path)


@pytest.mark.process
def test_the_agent_starts_and_answers_beside_a_truncated_and_a_garbage_gguf(tmp_path: Path, model_path: Path):
    base = tmp_path / "models" / "base"
    base.mkdir(parents=True)
    (base / model_path.name).symlink_to(model_path)
    (base / "cut.gguf").write_bytes(model_path.read_bytes()[: 8 << 20])
    (base / "garbage.gguf").write_bytes(b"GGUF" + os.urandom(4096))
    config = write_config(tmp_path / "config.yaml", model={"base_model_path": ""})
    agent = AgentProcess(tmp_path, model_path, config).start()
    try:
        status = httpx.get(f"{agent.url}/api/status").json()["model"]
        assert Path(status["path"]).name == model_path.name
        assert "newest usable" in status["chosen_because"]
        broken = {entry["file"]: entry["error"] for entry in status["broken_files"]}
        assert set(broken) == {"cut.gguf", "garbage.gguf"}
        assert "truncated GGUF file" in broken["cut.gguf"]
        answer = httpx.post(
            f"{agent.url}/v1/chat/completions",
            json={"model": "my-clone", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
            timeout=120,
        ).json()
        assert answer["choices"][0]["message"]["content"]
    finally:
        agent.stop()
