"""The admin's overview page: the agent, its link and the gateway, sampled over the last hour.

A real agent process (the tiny model, one sample every half second) linked to a real gateway that
reports its numbers every half second: a chat shows up as decode speed and a first-token time, an
open public-chat socket as a user online, and a stopped gateway as mode ``offline`` with no
gateway numbers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.fixtures.agents import AgentProcess, write_config
from tests.support.fixtures.gateways import ChatUser, GatewayProcess, create_agent_token, wait_online

SAMPLE_S = 0.5
WAIT_S = 30


async def test_overview_keeps_an_hour_and_says_the_gateway_is_not_linked(agent):
    body = (await agent.client.get("/api/overview")).json()
    assert body["interval_s"] == 10 and body["window_s"] == 3600  # one sample every 10 s, 360 kept
    assert body["gateway_connected"] is False and body["gateway_url"] == ""
    current = body["current"]
    assert current["mode"] == "offline" and current["gateway"] is None
    assert set(current["paths"]) == {"relay", "direct"} and not current["paths"]["relay"]["up"]
    assert current["queue"] == 0 and 0 <= current["kv_used"] < 1


@dataclass
class Chain:
    gateway: GatewayProcess
    agent: AgentProcess
    owner: ChatUser

    async def overview(self) -> dict:
        async with httpx.AsyncClient(base_url=self.agent.url, timeout=10) as http:
            response = await http.get("/api/overview")
            assert response.status_code == 200, response.text
            return response.json()

    async def wait_for(self, what: str, check: Callable[[dict], bool]) -> dict:
        deadline = time.monotonic() + WAIT_S
        while True:
            body = await self.overview()
            if check(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"the overview never showed {what}: {body['current']}")
            await asyncio.sleep(SAMPLE_S / 2)


@pytest.fixture(scope="module")
async def chain(tmp_path_factory, model_path: Path) -> AsyncIterator[Chain]:
    home = tmp_path_factory.mktemp("overview")
    gateway = GatewayProcess(
        home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}", stats_interval_s=SAMPLE_S
    )
    gateway.start(timeout=180)
    owner = ChatUser(gateway, "overview-owner@example.test")
    await owner.register()
    await owner.login()
    config = write_config(
        home / "config.yaml",
        model={"base_model_path": str(model_path), "max_tokens": 16, "n_threads": 1},
        gateway={"url": gateway.ws_url, "agent_token": await create_agent_token(owner)},
    )
    agent = AgentProcess(home, model_path, config_path=config)
    agent.env["AICLONE_OVERVIEW_INTERVAL_S"] = str(SAMPLE_S)
    agent.start(timeout=180)
    try:
        await wait_online(gateway)
        yield Chain(gateway, agent, owner)
    finally:
        await owner.close()
        agent.stop()
        gateway.stop()


def _gateway(body: dict) -> dict | None:
    return body["current"]["gateway"]


@pytest.mark.process
async def test_a_chat_through_the_gateway_shows_on_every_chart(chain: Chain):
    body = await chain.wait_for("the relay link and the gateway's numbers", lambda b: _gateway(b) is not None)
    assert body["gateway_connected"] is True and body["current"]["mode"] == "relay"
    assert body["current"]["paths"]["relay"]["up"] is True
    assert _gateway(body)["replicas"] == 1 and _gateway(body)["age_s"] < 3 * SAMPLE_S
    asked_at = time.time()
    async with chain.owner.socket() as ws:
        frames = await chain.owner.ask(ws, "Say hello.")
        assert frames[-1]["type"] == "end", frames[-1]
        online = await chain.wait_for(
            "one user online", lambda b: (_gateway(b) or {}).get("users_online") == 1
        )
        assert _gateway(online)["chat_sockets"] == 1
    await chain.wait_for("no user online", lambda b: (_gateway(b) or {}).get("users_online") == 0)

    body = await chain.wait_for(
        "the answer's decode speed",
        lambda b: any(s["tokens_per_s"] > 0 for s in b["samples"] if s["at"] >= asked_at),
    )
    since = [s for s in body["samples"] if s["at"] >= asked_at]
    assert any(s["ttft_ms"] is not None and s["ttft_ms"] > 0 for s in since)
    assert since[-1]["queue"] == 0 and since[-1]["running"] == 0
    assert all(s["mode"] == "relay" for s in since)
    assert since[-1]["paths"]["relay"]["rtt_ms"] is not None
    assert body["current"]["kv_used"] == 0  # the finished conversation waits in RAM, out of the KV cache
    assert [a["at"] for a in body["samples"]] == sorted(a["at"] for a in body["samples"])
    assert body["current"]["reconnects"] == 0
    assert _gateway(body)["requests_in_flight"] == 0 and _gateway(body)["errors"] == 0


@pytest.mark.process
async def test_a_stopped_gateway_leaves_the_overview_offline_without_gateway_numbers(chain: Chain):
    chain.gateway.stop()
    body = await chain.wait_for(
        "mode offline", lambda b: b["current"]["mode"] == "offline" and b["samples"][-1]["mode"] == "offline"
    )
    assert body["gateway_connected"] is False
    assert _gateway(body) is None and body["samples"][-1]["gateway"] is None
    assert body["current"]["paths"]["relay"]["up"] is False
    # the hour before stays: the samples taken while linked still carry the gateway's numbers
    assert any(s["mode"] == "relay" and s["gateway"] is not None for s in body["samples"])
