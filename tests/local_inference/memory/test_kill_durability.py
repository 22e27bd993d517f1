"""An erasure that returned survives the process being killed (kill -9) right after it: the rows,
the ChromaDB vectors and the BM25 entries are all gone when the store is opened again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from aiclone_agent.memory.store import MemoryStore
from aiclone_agent.rag.embeddings import E5Embedder

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=timezone.utc)
ERASE_THEN_DIE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from aiclone_agent.memory.store import MemoryStore
    from aiclone_agent.rag.embeddings import E5Embedder

    store = MemoryStore(Path(sys.argv[1]), E5Embedder("multilingual-e5-small"))
    store.recall("user:a", "dog", now=__import__("datetime").datetime.now(__import__("datetime").timezone.utc))
    assert store.delete(sys.argv[2], person="user:a")
    assert store.delete_all("user:b") == 1
    print("erased", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close(), no interpreter shutdown
    """
)


@pytest.mark.process
@pytest.mark.slow
def test_erasures_survive_kill_9(tmp_path: Path, embedder: E5Embedder):
    data = tmp_path / "memory"
    store = MemoryStore(data, embedder)
    gone = store.remember(
        "user:a", question="My dog's name is Rex.", answer="Nice!", conversation_id="c", channel="web"
    )
    stays = store.remember(
        "user:a", question="I live in Berlin.", answer="Cool.", conversation_id="c", channel="web"
    )
    store.remember(
        "user:b", question="My dog's name is Rex.", answer="Nice!", conversation_id="d", channel="web"
    )
    assert gone is not None and stays is not None
    store.close()

    child = subprocess.run(
        [sys.executable, "-c", ERASE_THEN_DIE, str(data), gone.id],
        env=os.environ.copy(), capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout.strip() == "erased"

    reopened = MemoryStore(data, embedder)
    try:
        assert [r.id for r in reopened.list(None)] == [stays.id]
        assert reopened.vectors is not None
        assert reopened.vectors.ids("user:a") == {stays.id} and reopened.vectors.ids("user:b") == set()
        for person in ("user:a", "user:b"):
            for mode in ("hybrid", "dense", "lexical"):
                got = {
                    r.id
                    for r in reopened.recall(person, "My dog's name is Rex", now=NOW, mode=mode, limit=10)
                }
                assert gone.id not in got and (person == "user:a" or not got), (person, mode)
    finally:
        reopened.close()
