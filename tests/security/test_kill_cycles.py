"""kill -9 of the agent at random moments while the owner chats, edits the persona and uploads
documents; after each restart everything that was acknowledged is there and no store is corrupt.

Bounded: AICLONE_KILL_CYCLES cycles (default 6, about 20 s each), each a fresh start of the real agent with the
tiny model, traffic until the first answer and a random 0-3 s more, then SIGKILL. The random moments come from a seed
printed on failure (AICLONE_KILL_SEED to replay one).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.fixtures.agents import AgentProcess, write_config

CYCLES = int(os.environ.get("AICLONE_KILL_CYCLES", "6"))
SEED = int(os.environ.get("AICLONE_KILL_SEED", str(random.randrange(1 << 30))))


@dataclass
class Acknowledged:
    turns: dict[str, list[str]] = field(default_factory=dict)  # conversation id -> questions answered
    persona: str | None = None  # the last persona the agent said it saved
    personas_sent: list[str] = field(default_factory=list)
    documents: set[str] = field(default_factory=set)


async def _chat(http: httpx.AsyncClient, seen: Acknowledged, cycle: int, answered: asyncio.Event) -> None:
    conversation_id = None
    for turn in range(1000):
        question = f"Cycle {cycle} turn {turn}: say one word."
        body = {"message": question, "conversation_id": conversation_id, "max_tokens": 3}
        response = await http.post("/api/chat/test", json=body)
        assert response.status_code == 200, response.text
        conversation_id = response.json()["conversation_id"]
        seen.turns.setdefault(conversation_id, []).append(question)
        answered.set()


async def _persona(http: httpx.AsyncClient, seen: Acknowledged, cycle: int) -> None:
    for edit in range(1000):
        persona = f"You are a careful assistant. Version {cycle}.{edit}."
        seen.personas_sent.append(persona)
        response = await http.put("/api/clone", json={"system_prompt": persona})
        assert response.status_code == 200, response.text
        seen.persona = persona
        await asyncio.sleep(0.2)


async def _upload(http: httpx.AsyncClient, seen: Acknowledged, cycle: int) -> None:
    for n in range(1000):
        text = f"Note {cycle}-{n}. The lighthouse on the northern cape was painted red in spring.\n".encode()
        response = await http.post("/api/rag/documents", files={"file": (f"note-{cycle}-{n}.txt", text)})
        assert response.status_code == 201, response.text
        seen.documents.add(response.json()["id"])
        await asyncio.sleep(1.0)  # indexing shares the two cores with the chat


async def _traffic_then_kill(agent: AgentProcess, seen: Acknowledged, cycle: int, after: float) -> None:
    headers = {"Origin": agent.url}
    async with httpx.AsyncClient(base_url=agent.url, timeout=30, headers=headers) as http:
        answered = asyncio.Event()
        tasks = [asyncio.create_task(_chat(http, seen, cycle, answered))]
        tasks += [asyncio.create_task(work(http, seen, cycle)) for work in (_persona, _upload)]
        # the kill lands a random moment after the first answer of the cycle (indexing competes with
        # the chat for the two cores, so a fixed window could end before any answer on a busy machine)
        await asyncio.wait_for(answered.wait(), timeout=120)
        await asyncio.sleep(after)
        agent.stop(signal.SIGKILL)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:  # only the kill may end the traffic: a refusal before it is a bug
        if isinstance(result, AssertionError):
            raise result


async def _warm(agent: AgentProcess, seen: Acknowledged) -> None:
    """A document indexed and a question answered first: the embedding model loads on first use
    (seconds), and the traffic window should be spent writing, not waiting for it."""
    async with httpx.AsyncClient(base_url=agent.url, timeout=120, headers={"Origin": agent.url}) as http:
        text = b"Warm-up note. The harbour lights are green.\n"
        created = await http.post("/api/rag/documents", files={"file": ("warm.txt", text)})
        assert created.status_code == 201, created.text
        seen.documents.add(created.json()["id"])
        for _ in range(1200):
            document = (await http.get(f"/api/rag/documents/{created.json()['id']}")).json()
            if document["status"] in ("ready", "failed"):
                break
            await asyncio.sleep(0.1)
        response = await http.post("/api/chat/test", json={"message": "Warm up.", "max_tokens": 1})
        assert response.status_code == 200, response.text


def _integrity(path: Path) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


async def _check(agent: AgentProcess, seen: Acknowledged) -> None:
    data = agent.home / "data"
    for store in sorted(data.rglob("*.sqlite3")):
        assert _integrity(store) == "ok", store
    config = yaml.safe_load(agent.config_path.read_text(encoding="utf-8"))  # never torn
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        persona = (await http.get("/api/clone")).json()["system_prompt"]
        if "clone" in config:
            assert persona == config["clone"]["system_prompt"]
        if seen.persona is not None:  # the last acknowledged write, or one sent after it
            assert persona in seen.personas_sent[seen.personas_sent.index(seen.persona) :], persona
        for conversation_id, questions in seen.turns.items():
            detail = await http.get(f"/api/conversations/{conversation_id}")
            assert detail.status_code == 200, (conversation_id, detail.text)
            asked = [m["content"] for m in detail.json()["messages"] if m["role"] == "user"]
            assert asked[: len(questions)] == questions
            roles = [m["role"] for m in detail.json()["messages"]]
            assert roles[0] == "user" and all(a != b for a, b in itertools.pairwise(roles)), roles
        documents = {d["id"]: d for d in (await http.get("/api/rag/documents")).json()}
        assert seen.documents <= set(documents), seen.documents - set(documents)
        for _ in range(600):  # each acknowledged upload ends indexed (or failed with a reason), never stuck
            documents = {d["id"]: d for d in (await http.get("/api/rag/documents")).json()}
            if all(documents[i]["status"] in ("ready", "failed") for i in seen.documents):
                break
            await asyncio.sleep(0.1)
        stuck = {
            i: documents[i]["status"]
            for i in seen.documents
            if documents[i]["status"] not in ("ready", "failed")
        }
        assert not stuck, stuck
        assert all(documents[i]["error"] for i in seen.documents if documents[i]["status"] == "failed")


@pytest.mark.process
@pytest.mark.slow
async def test_kill_9_at_random_moments_loses_nothing_acknowledged(tmp_path: Path, model_path: Path):
    chance = random.Random(SEED)
    config = write_config(
        tmp_path / "config.yaml", model={"base_model_path": str(model_path), "max_tokens": 3}
    )
    seen = Acknowledged()
    for cycle in range(CYCLES):
        agent = AgentProcess(tmp_path, model_path, config).start(timeout=180)
        try:
            await _check(agent, seen)
            await _warm(agent, seen)
            await _traffic_then_kill(agent, seen, cycle, after=chance.uniform(0.0, 3.0))
        except AssertionError as exc:
            raise AssertionError(f"cycle {cycle} (AICLONE_KILL_SEED={SEED}): {exc}") from exc
        finally:
            agent.stop(signal.SIGKILL)
    agent = AgentProcess(tmp_path, model_path, config).start(timeout=180)
    try:
        await _check(agent, seen)
    finally:
        agent.stop()
    assert seen.turns and seen.documents and seen.persona  # each kind of write was acknowledged at least once
