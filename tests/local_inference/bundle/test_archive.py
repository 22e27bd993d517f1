"""``python -m aiclone_agent export FILE`` / ``import FILE``: the whole clone moves to a fresh PC
(a fresh home here) and comes back with its config, conversations, ingested documents (still
found by search) and adapter folder."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.support.fixtures.agents import AgentProcess, write_config

FACT = "The lighthouse keeper Ottoline Brask paints her boat teal every April in Kvitsund harbour."


def cli(agent: AgentProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aiclone_agent", *args],
        env=agent.env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _state(agent: AgentProcess) -> dict:
    with httpx.Client(base_url=agent.url, timeout=60) as http:
        conversations = http.get("/api/conversations").json()
        return {
            "conversations": [http.get(f"/api/conversations/{c['id']}").json() for c in conversations],
            "documents": http.get("/api/rag/documents").json(),
            "persona": http.get("/api/clone").json(),
            "hit": http.get(
                "/api/rag/search", params={"q": "Who paints a boat teal in Kvitsund?", "k": 1}
            ).json()[0],
        }


@pytest.mark.process
def test_export_then_import_into_a_fresh_home_keeps_the_whole_clone(tmp_path: Path, model_path: Path):
    old_home, new_home = tmp_path / "old-pc", tmp_path / "new-pc"
    old_home.mkdir()
    new_home.mkdir()
    config = write_config(
        old_home / "config.yaml",
        model={"base_model_path": str(model_path), "max_tokens": 8, "n_threads": 1},
        clone={"name": "Ottoline's clone", "system_prompt": "You are Ottoline. Be brief."},
    )
    old = AgentProcess(old_home, model_path, config_path=config).start(timeout=240)
    try:
        with httpx.Client(base_url=old.url, timeout=120) as http:
            document = http.post("/api/rag/documents", files={"file": ("keeper.txt", (FACT + "\n") * 3)})
            assert document.status_code == 201, document.text
            first = http.post("/api/chat/test", json={"message": "Hello there."}).json()
            http.post(
                "/api/chat/test", json={"message": "And again.", "conversation_id": first["conversation_id"]}
            )
            http.post("/api/chat/test", json={"message": "A new conversation."})
        before = _state(old)
    finally:
        old.stop()
    assert len(before["conversations"]) == 2 and before["hit"]["document_name"] == "keeper.txt"
    lora = old_home / "models" / "lora"
    lora.mkdir(parents=True)
    (lora / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 8}')
    (lora / "adapter_model.safetensors").write_bytes(bytes(range(256)) * 64)

    archive = tmp_path / "moved" / "clone.tar.gz"
    exported = cli(old, "export", str(archive))
    assert exported.returncode == 0, exported.stderr
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "config/config.yaml" in names
    assert "data/conversations.sqlite3" in names and "lora/adapter_model.safetensors" in names
    assert not any(name.endswith(".gguf") for name in names)  # the base model stays out

    new = AgentProcess(new_home, model_path, config_path=new_home / "config" / "config.yaml")
    imported = cli(new, "import", str(archive))
    assert imported.returncode == 0, imported.stderr
    assert (new_home / "models/lora/adapter_model.safetensors").read_bytes() == (
        lora / "adapter_model.safetensors"
    ).read_bytes()
    again = cli(new, "import", str(archive))  # a clone is there now: refused, nothing lost
    assert again.returncode == 1 and "already here" in again.stderr
    (new_home / "models/lora").rename(
        new_home / "lora-moved-aside"
    )  # the byte-check above is the adapter's test
    new.start(timeout=240)
    try:
        after = _state(new)
    finally:
        new.stop()
    assert after == before


def test_damaged_or_foreign_archives_are_refused_and_change_nothing(tmp_path: Path, model_path: Path):
    agent = AgentProcess(tmp_path, model_path, config_path=tmp_path / "absent.yaml")
    missing = cli(agent, "import", str(tmp_path / "nope.tar.gz"))
    assert missing.returncode == 1 and "no archive at" in missing.stderr
    foreign = tmp_path / "foreign.tar.gz"
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    with tarfile.open(foreign, "w:gz") as tar:
        tar.add(evil, arcname="notes.txt")
    refused = cli(agent, "import", str(foreign))
    assert refused.returncode == 1 and "not a clone archive" in refused.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "absent.yaml").exists()
    nothing = cli(agent, "export", str(tmp_path / "out.tar.gz"))
    assert nothing.returncode == 1 and "nothing to export" in nothing.stderr
