"""The agent's side of the relay: ``/api/gateway`` configures the link live; it reconnects on its
own, reports relay/offline and the round trip in ``/api/status``, and caches the gateway's JWKS."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.fixtures.gateways import GatewayProcess

RETRY = re.compile(r"retrying in ([0-9.]+) s")


async def _until(check, timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


@pytest.fixture
async def gateway_and_created(tmp_path: Path) -> AsyncIterator[tuple[GatewayProcess, dict]]:
    """A gateway and the agent token its owner just made (``token`` and ``pairing``)."""
    gateway = GatewayProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}").start()
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        credentials = {"email": "owner@example.test", "password": "correct horse battery"}
        await http.post("/api/auth/register", json=credentials)
        access = (await http.post("/api/auth/login", json=credentials)).json()["access_token"]
        created = await http.post(
            "/api/agents", json={"name": "pc"}, headers={"Authorization": f"Bearer {access}"}
        )
    yield gateway, created.json()
    gateway.stop()


@pytest.fixture
def gateway_and_token(gateway_and_created) -> tuple[GatewayProcess, str]:
    gateway, created = gateway_and_created
    return gateway, created["token"]


@pytest.fixture
async def linked(agent, gateway_and_token) -> AsyncIterator[tuple]:
    gateway, token = gateway_and_token
    try:
        response = await agent.client.put("/api/gateway", json={"url": gateway.url, "agent_token": token})
        assert response.status_code == 200, response.text
        yield agent, gateway, token
    finally:
        await agent.runtime.gateway.stop()


async def _status(agent) -> dict:
    return (await agent.client.get("/api/status")).json()


@pytest.mark.process
async def test_put_gateway_links_live_and_status_shows_relay(linked):
    agent, gateway, token = linked
    await _until(lambda: _gateway_connected(agent))
    status = await _status(agent)
    assert status["network_mode"] == "relay"
    assert status["gateway"]["url"] == gateway.url and status["gateway"]["connected"] is True
    await _until(lambda: _has_rtt(agent))
    shown = (await agent.client.get("/api/gateway")).json()
    assert token not in json.dumps(shown) and shown["agent_token"].startswith(token[:4])
    saved = yaml.safe_load(agent.config_path.read_text())["gateway"]
    assert {key: saved[key] for key in ("url", "agent_token")} == {"url": gateway.url, "agent_token": token}
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        public = (await http.get("/api/status")).json()
        assert public["agent_online"] is True and public["network_mode"] == "relay"
        assert public["clone"] == {"name": "My Clone"} and public["version"] == "0.1.0"
        assert public["paths"]["relay"]["up"] is True and public["paths"]["direct"]["up"] is False
        published = (await http.get("/.well-known/jwks.json")).json()
    cached = json.loads((agent.data_dir / "gateway_jwks.json").read_text())
    assert cached["keys"] == published["keys"]
    assert cached["issuer"] == "aiclone-gateway"  # the iss every offline check requires
    metrics = (await agent.client.get("/metrics")).text
    assert (
        'aiclone_network_mode{mode="relay"} 1.0' in metrics
        and 'aiclone_network_mode{mode="offline"} 0.0' in metrics
    )


async def _gateway_connected(agent) -> bool:
    return (await _status(agent))["gateway"]["connected"]


async def _has_rtt(agent) -> bool:
    rtt = (await _status(agent))["gateway"]["rtt_ms"]
    return rtt is not None and rtt > 0


@pytest.mark.process
async def test_link_comes_back_after_the_gateway_restarts(linked):
    agent, gateway, _ = linked
    await _until(lambda: _gateway_connected(agent))
    gateway.stop()
    await _until(lambda: _offline(agent), timeout=10)
    gateway.start()
    await _until(lambda: _gateway_connected(agent), timeout=30)
    assert (await _status(agent))["network_mode"] == "relay"


async def _offline(agent) -> bool:
    return (await _status(agent))["network_mode"] == "offline"


@pytest.mark.process
async def test_a_wrong_token_is_reported_and_the_agent_stays_offline(agent, gateway_and_token):
    gateway, _ = gateway_and_token
    try:
        await agent.client.put("/api/gateway", json={"url": gateway.ws_url, "agent_token": "agt_wrong"})

        async def refused() -> bool:
            return "HTTP 403" in ((await agent.client.get("/api/gateway")).json()["last_error"] or "")

        await _until(refused)
        assert (await _status(agent))["network_mode"] == "offline"
        # the admin page says it from the code, in its language, with what to do
        assert (await agent.client.get("/api/gateway")).json()["last_error_code"] == "gateway_token_refused"
    finally:
        await agent.runtime.gateway.stop()


@pytest.mark.process
async def test_the_pairing_string_the_gateway_shows_links_the_agent_in_one_field(agent, gateway_and_created):
    gateway, created = gateway_and_created
    try:
        response = await agent.client.put("/api/gateway", json={"pairing": created["pairing"]})
        assert response.status_code == 200, response.text
        assert response.json()["url"] == gateway.url
        await _until(lambda: _gateway_connected(agent))
        saved = yaml.safe_load(agent.config_path.read_text())["gateway"]
        assert (saved["url"], saved["agent_token"]) == (gateway.url, created["token"])
    finally:
        await agent.runtime.gateway.stop()


async def test_a_pairing_string_comes_alone_and_whole(agent):
    token = "agt_" + "x" * 40
    cases = [
        (
            {
                "pairing": f"aiclone://pair?gateway=https%3A%2F%2Fgw.example&token={token}",
                "url": "https://gw.example",
            },
            "alone",
        ),
        ({"pairing": f"https://gw.example/?token={token}"}, "aiclone://pair"),
        ({"pairing": "aiclone://pair?gateway=https%3A%2F%2Fgw.example"}, "token="),
        ({"pairing": f"aiclone://pair?gateway=ftp%3A%2F%2Fgw.example&token={token}"}, "http(s)://"),
        ({}, "pairing"),
    ]
    for body, reason in cases:
        response = await agent.client.put("/api/gateway", json=body)
        assert response.status_code == 400 and reason in response.json()["error"]["message"], (
            body,
            response.text,
        )
    shown = (await agent.client.get("/api/gateway")).json()
    assert shown["url"] == "" and token not in json.dumps(shown)


async def test_bad_gateway_urls_are_refused(agent):
    response = await agent.client.put("/api/gateway", json={"url": "ftp://example.test", "agent_token": "x"})
    assert response.status_code == 400 and "ws://" in response.json()["error"]["message"]
    assert (await agent.client.get("/api/gateway")).json()["url"] == ""


@pytest.mark.process
async def test_clearing_the_url_stops_the_link(linked):
    agent, _, _ = linked
    await _until(lambda: _gateway_connected(agent))
    response = await agent.client.put("/api/gateway", json={"url": "", "agent_token": ""})
    assert response.json()["connected"] is False and response.json()["agent_token"] == ""
    assert (await _status(agent))["network_mode"] == "offline"


async def test_the_wait_between_relink_tries_is_capped_by_reconnect_max_s(agent, caplog):
    """With no gateway listening, the tries back off (doubling from 0.5 s, jittered) up to
    ``gateway.reconnect_max_s`` (1 s here), where the default would have reached 16 s by now."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent.runtime.config.update(lambda data: data["gateway"].update(reconnect_max_s=1.0))
    caplog.set_level(logging.INFO, logger="aiclone_agent.gateway.link")

    def delays() -> list[float]:
        found = (RETRY.search(record.getMessage()) for record in caplog.records)
        return [float(match.group(1)) for match in found if match]

    async def six_tries() -> bool:
        return len(delays()) >= 6

    try:
        response = await agent.client.put(
            "/api/gateway", json={"url": f"ws://127.0.0.1:{port}", "agent_token": "agt_" + "x" * 40}
        )
        assert response.status_code == 200, response.text
        await _until(six_tries)
    finally:
        await agent.runtime.gateway.stop()
    waits = delays()
    assert all(wait <= 1.0 for wait in waits), waits
    assert all(wait >= 0.5 for wait in waits[1:]), waits  # the ceiling reached 1 s and stays there
