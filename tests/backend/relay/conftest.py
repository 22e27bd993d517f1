"""Fixtures for the relay tests: a gateway and an agent joined by both paths, each through a
TCP proxy the test controls (``TwoPaths``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from tests.backend.conftest import ChatUser, GatewayProcess, create_agent_token
from tests.local_inference.conftest import AgentProcess, write_config
from tests.support.tcp_proxy import TcpProxy, free_port

MODE_TIMEOUT_S = 10  # the bound: a mode change is seen within 10 s of the fault


@dataclass
class TwoPaths:
    gateway: GatewayProcess
    agent: AgentProcess
    relay: TcpProxy  # in front of the gateway: the agent's relay link goes through it
    direct: TcpProxy  # in front of the agent's direct listener: the gateway dials through it
    client: openai.AsyncOpenAI
    owner: ChatUser
    direct_port: int

    async def status(self, side: str) -> dict:
        url = self.gateway.url if side == "gateway" else self.agent.url
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            return (await http.get("/api/status")).json()

    async def wait_mode(self, mode: str, side: str = "gateway", timeout: float = MODE_TIMEOUT_S) -> float:
        """Seconds until ``side`` reports ``mode``; fails the test past ``timeout``."""
        started = time.monotonic()
        while True:
            status = await self.status(side)
            if status["network_mode"] == mode:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"{side} never reported {mode} in {timeout} s: {status}")

    async def ask(self, text: str = "Say hello.") -> str:
        completion = await self.client.chat.completions.create(
            model="my-clone", messages=[{"role": "user", "content": text}], max_tokens=8
        )
        return completion.choices[0].message.content


@pytest.fixture(scope="module")
def paths_gateway(tmp_path_factory) -> Iterator[GatewayProcess]:
    # probes every second (2.5 s of trust after the last answer: no flapping on a loaded
    # 2-core machine), a silent path dropped after 4 s; SQLite only: the paths do not depend on the database (the other tests cover PostgreSQL)
    home = tmp_path_factory.mktemp("paths-gateway")
    process = GatewayProcess(
        home,
        f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}",
        heartbeat_interval_s=1,
        heartbeat_timeout_s=4,
        # the agent's direct listener is on loopback here: the gateway refuses that by default
        direct_allowed_networks='["127.0.0.0/8"]',
    ).start(timeout=180)
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def two_paths(
    tmp_path_factory, paths_gateway: GatewayProcess, model_path: Path
) -> AsyncIterator[TwoPaths]:
    owner = ChatUser(paths_gateway, f"paths-{time.time_ns()}@example.com")
    await owner.register()
    await owner.login()
    token = await create_agent_token(owner)
    key = (await owner.http.post("/api/keys", json={"name": "paths"})).json()["key"]
    relay = TcpProxy(paths_gateway.port).start()
    direct_port = free_port()
    direct = TcpProxy(direct_port).start()
    home = tmp_path_factory.mktemp("paths-agent")
    config = write_config(
        home / "config.yaml",
        model={"base_model_path": str(model_path), "max_tokens": 8, "n_threads": 1},
        gateway={
            "url": relay.url,
            "agent_token": token,
            "direct": {
                "enabled": True,
                "host": "127.0.0.1",
                "port": direct_port,
                "advertise_url": f"wss://127.0.0.1:{direct.port}",
            },
        },
    )
    agent = AgentProcess(home, model_path, config_path=config).start(timeout=180)
    client = openai.AsyncOpenAI(base_url=f"{paths_gateway.url}/v1", api_key=key, max_retries=0, timeout=60)
    paths = TwoPaths(paths_gateway, agent, relay, direct, client, owner, direct_port)
    try:
        await paths.wait_mode("hybrid", timeout=30)
        yield paths
    finally:
        await client.close()
        await owner.close()
        agent.stop()
        relay.stop()
        direct.stop()
