"""Several PCs serve one clone, with real processes: two agents (two agent tokens) linked to one
gateway both answer and share the work, a conversation stays on its agent, ``/api/agents`` shows
each one's load and fingerprint, and killing one (kill -9) loses no request that had not started
streaming: those are answered by the other, a stream cut mid-way ends with an explicit error."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.fixtures.agents import AgentProcess
from tests.support.fixtures.gateways import ChatUser, GatewayProcess, sign_up
from tests.support.fixtures.several_agents import (
    counts,
    listed_agents,
    served,
    shares,
    start_agent,
    stream_completion,
    until,
)

# real agents and gateways, a kill -9 among them
pytestmark = [pytest.mark.process, pytest.mark.slow]


@dataclass
class TwoAgents:
    gateway: GatewayProcess
    owner: ChatUser
    api_key: str
    agents: dict[str, AgentProcess]  # by agent token id


@pytest.fixture(scope="module")
async def two_agents(tmp_path_factory: pytest.TempPathFactory, model_path: Path) -> AsyncIterator[TwoAgents]:
    """A gateway of this module's own (its agents would disturb the session's) with two agents."""
    home = tmp_path_factory.mktemp("several-agents")
    gateway = GatewayProcess(home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}").start()
    started: list[AgentProcess] = []
    try:
        (owner,) = await sign_up(gateway, 1)
        created = [(await owner.http.post("/api/agents", json={"name": f"pc {n}"})).json() for n in range(2)]
        ids, tokens = [item["id"] for item in created], [item["token"] for item in created]
        # both start at once (each loads the model): half the wait on a loaded machine
        agents = await asyncio.gather(
            *(
                asyncio.to_thread(start_agent, home / f"agent-{n}", model_path, gateway, token)
                for n, token in enumerate(tokens)
            )
        )
        started.extend(agents)
        by_id = dict(zip(ids, agents, strict=True))
        key = (await owner.http.post("/api/keys", json={"name": "several"})).json()["key"]

        async def both_linked_and_reporting() -> bool:
            listed = await listed_agents(owner)
            return all(listed[i]["linked"] and listed[i]["parallel"] == 1 for i in by_id)

        await until(both_linked_and_reporting, what="both agents linked, with their load")
        yield TwoAgents(gateway, owner, key, by_id)
        await owner.close()
    finally:
        for agent in started:
            agent.stop()
        gateway.stop()


async def complete(setup: TwoAgents, question: str, max_tokens: int = 6) -> dict:
    async with httpx.AsyncClient(base_url=setup.gateway.url, timeout=300) as http:
        response = await http.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {setup.api_key}"},
            json={
                "model": "my-clone",
                "messages": [{"role": "user", "content": question}],
                "max_tokens": max_tokens,
            },
        )
    assert response.status_code == 200, response.text
    return response.json()


async def test_both_agents_are_listed_with_their_mode_load_and_one_fingerprint(two_agents: TwoAgents):
    listed = await listed_agents(two_agents.owner)
    assert set(listed) == set(two_agents.agents)
    for item in listed.values():
        assert item["linked"] and item["mode"] == "relay"
        assert (
            item["parallel"] == 1 and item["running"] >= 0 and item["waiting"] >= 0 and item["in_flight"] >= 0
        )
        assert set(item["fingerprint"]) == {"model", "adapter", "persona", "documents"}
        assert item["fingerprint"]["model"] == "SmolLM2-135M-Instruct.Q4_1"
    # the same model, persona and (no) documents: the owner's page has nothing to warn about
    first, second = (item["fingerprint"] for item in listed.values())
    assert first == second


async def test_two_agents_both_answer_a_batch_about_half_each(two_agents: TwoAgents):
    before = await counts(two_agents.agents)
    answers = await asyncio.gather(*(complete(two_agents, f"Say the number {n}.") for n in range(8)))
    assert all(len(answer["choices"]) == 1 for answer in answers)
    share = await shares(two_agents.agents, before)
    assert sum(share.values()) == 8, share
    assert all(3 <= n <= 5 for n in share.values()), share


async def test_a_conversation_stays_on_its_agent(two_agents: TwoAgents):
    owner = two_agents.owner
    before = await counts(two_agents.agents)
    async with owner.socket() as ws:
        first = (await owner.ask(ws, "Hello, who are you?", timeout=120))[-1]
        assert first["type"] == "end", first
        conversation = (await owner.http.get("/api/conversations")).json()[0]["id"]
        for text in ("Tell me more.", "And then?", "Thanks."):
            frames = await owner.ask(ws, text, conversation, timeout=120)
            assert frames[-1]["type"] == "end", frames[-1]
    share = await shares(two_agents.agents, before)
    # one request at a time to two idle agents: without stickiness they would take turns
    assert sorted(share.values()) == [0, 4], share


async def test_killing_one_agent_loses_no_request_that_had_not_started_streaming(two_agents: TwoAgents):
    """Last in this module: it kills one of the agents."""
    (victim_id, victim), (survivor_id, survivor) = list(two_agents.agents.items())
    before = await served(survivor)
    chunks_at_kill: dict[int, int] = {}
    killed = asyncio.Event()
    streams = [
        asyncio.create_task(
            stream_completion(two_agents.gateway.url, two_agents.api_key, n, chunks_at_kill, killed)
        )
        for n in range(6)
    ]

    async def victim_has_queued_work() -> bool:
        # one slot: of two or more requests, one at least waits for it (not started streaming)
        return (await listed_agents(two_agents.owner))[victim_id]["in_flight"] >= 2

    await until(victim_has_queued_work, what="requests waiting at the victim")
    victim.stop(signal.SIGKILL)
    killed.set()
    results = await asyncio.gather(*streams)
    cut = [n for n, result in enumerate(results) if "error" in result]
    for n in cut:  # only a stream the victim had started streaming may fail, and it says so
        assert chunks_at_kill.get(n, 0) > 0, results[n]
        assert results[n]["error"]["code"] == "agent_disconnected", results[n]
    assert len(cut) <= 1, results
    answered = [result for result in results if "text" in result]
    assert len(answered) == 6 - len(cut) and all(result["text"] for result in answered)
    # the survivor answered every one that had not started streaming before the kill
    not_started = [n for n, result in enumerate(results) if "text" in result and not chunks_at_kill.get(n)]
    assert await served(survivor) - before >= len(not_started) >= 1
    listed = await listed_agents(two_agents.owner)
    assert listed[survivor_id]["linked"]
