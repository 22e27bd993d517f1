"""The agent's conversation store commits so that an acknowledged turn survives a power cut.

Found before the fix: the store ran WAL with ``synchronous=NORMAL``, which survives a killed
process but may lose the newest commits when the machine loses power.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time

import httpx
import pytest

from aiclone_agent.chat.service import PARTIAL_SAVE_S
from aiclone_agent.chat.store import ConversationStore
from tests.support.fixtures.agents import AgentProcess, write_config

FULL = 2


async def test_the_conversation_store_syncs_every_commit(tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    conversation = await store.create("Power cut", "owner")
    await store.append(conversation.id, "user", "Is this kept?")
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == FULL
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # what was acknowledged is on disk for another connection (a restarted agent)
    reopened = sqlite3.connect(tmp_path / "conversations.sqlite3")
    assert reopened.execute("SELECT content FROM messages").fetchall() == [("Is this kept?",)]


@pytest.mark.process
async def test_an_answer_cut_by_kill_9_keeps_what_the_owner_saw_and_the_history_alternates(
    tmp_path, model_path
):
    """Found before the fix: a crash mid-stream lost the partial answer and left the question
    unanswered, so the next turn answered both (roles user, user, assistant)."""
    config = write_config(
        tmp_path / "config.yaml",
        model={"base_model_path": str(model_path), "max_tokens": 1800, "temperature": 0.0},
    )
    agent = AgentProcess(tmp_path, model_path, config).start()
    seen, cut = "", False
    try:
        async with httpx.AsyncClient(base_url=agent.url, timeout=60) as http:
            # greedy, this essay runs to max_tokens (40 s here): the kill lands mid-stream on any machine
            essay = {"message": "Write a very long essay about the history of bridges."}
            async with http.stream("POST", "/api/chat/stream", json=essay) as response:
                first_delta_at = None
                async for line in response.aiter_lines():
                    if line.startswith("data: ") and '"delta"' in line:
                        seen += json.loads(line[6:])["delta"]
                        first_delta_at = first_delta_at or time.monotonic()
                    if first_delta_at and time.monotonic() - first_delta_at > 1.5 * PARTIAL_SAVE_S:
                        agent.stop(signal.SIGKILL)
                        cut = True
                        break
    finally:
        agent.stop(signal.SIGKILL)
    assert cut, f"the answer ended before the kill ({len(seen)} characters): the test needs a longer one"
    agent = AgentProcess(tmp_path, model_path, config).start()
    try:
        async with httpx.AsyncClient(base_url=agent.url, timeout=120) as http:
            (conversation,) = (await http.get("/api/conversations")).json()
            messages = (await http.get(f"/api/conversations/{conversation['id']}")).json()["messages"]
            assert [m["role"] for m in messages] == ["user", "assistant"]
            partial = messages[1]
            assert partial["finish_reason"] == "interrupted"
            assert partial["content"] and seen.startswith(
                partial["content"]
            )  # at most the last second is missing
            follow = {"message": "Thanks. One word?", "conversation_id": conversation["id"], "max_tokens": 4}
            assert (await http.post("/api/chat/test", json=follow)).status_code == 200
            messages = (await http.get(f"/api/conversations/{conversation['id']}")).json()["messages"]
            assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    finally:
        agent.stop()
