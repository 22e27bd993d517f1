"""Oversized requests: refused with 413 before they are read, and never able to drop the link.

Attacks confirmed against running servers before the fix: one 17 MiB ``/v1`` request closed the
agent's link (the frame passed the link's 16 MiB limit), so every user's request failed and the
clone went offline; a 150 MiB login body raised the gateway's memory by 440 MB before its 400.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.security.oversized import rss_bytes, send_oversized
from tests.support.fixtures.agents import AgentProcess
from tests.support.fixtures.gateways import ChatUser, GatewayProcess

MiB = 1024 * 1024


@pytest.fixture
async def api_key(users: list[ChatUser]) -> str:
    response = await users[0].http.post("/api/keys", json={"name": "attacker"})
    assert response.status_code == 201
    return response.json()["key"]


async def _agent_online(gateway: GatewayProcess) -> bool:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        return (await http.get("/api/status")).json()["agent_online"]


async def test_17_mib_completion_gets_413_and_the_agent_stays_linked(
    gateway: GatewayProcess, linked_agent: AgentProcess, api_key: str
):
    link_log_before = linked_agent.log.read_text().count("linked to gateway")
    huge = {"model": "my-clone", "messages": [{"role": "user", "content": "x" * (17 * MiB)}]}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {api_key}"}
        refused = await http.post("/v1/chat/completions", content=json.dumps(huge), headers=headers)
        assert refused.status_code == 413
        error = refused.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["code"] == "request_too_large"
        assert await _agent_online(gateway)
        ordinary = await http.post(
            "/v1/chat/completions",
            json={"model": "my-clone", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
            headers=headers,
        )
    assert ordinary.status_code == 200, ordinary.text
    assert ordinary.json()["choices"][0]["message"]["content"]
    assert linked_agent.log.read_text().count("linked to gateway") == link_log_before  # never relinked


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_150_mib_login_body_gets_413_with_memory_flat(gateway: GatewayProcess, declared: bool):
    before = rss_bytes(gateway.proc.pid)
    answer = await send_oversized(gateway.port, "/api/auth/login", 150 * MiB, declared)
    assert answer.status == 413
    assert json.loads(answer.body)["error"]["code"] == "request_too_large"
    assert answer.sent_bytes < 150 * MiB  # refused long before the end
    assert rss_bytes(gateway.proc.pid) - before < 32 * MiB
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        assert (await http.get("/healthz")).status_code == 200


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_agent_refuses_oversized_bodies_chunked_too(agent_process: AgentProcess, declared: bool):
    before = rss_bytes(agent_process.proc.pid)
    answer = await send_oversized(agent_process.port, "/v1/chat/completions", 150 * MiB, declared)
    assert answer.status == 413
    assert json.loads(answer.body)["error"]["code"] == "request_too_large"
    assert rss_bytes(agent_process.proc.pid) - before < 32 * MiB


async def test_a_request_over_the_frame_limit_is_refused_before_the_link(tmp_path, own_agent, model_path):
    """With a body limit above the frame limit, the frame cap still keeps the link up."""
    gateway = GatewayProcess(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'gw.sqlite3'}",
        max_body_bytes=8 * MiB,
        max_relay_frame_bytes=MiB,
    ).start()
    try:
        owner = ChatUser(gateway, "owner@example.test")
        await owner.register()
        await owner.login()
        key = (await owner.http.post("/api/keys", json={"name": "k"})).json()["key"]
        token = (await owner.http.post("/api/agents", json={"name": "pc"})).json()["token"]
        agent = own_agent(gateway, token, max_tokens=4)
        from tests.support.fixtures.gateways import wait_online

        await wait_online(gateway)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        big = {"model": "my-clone", "messages": [{"role": "user", "content": "y" * (3 * MiB)}]}
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as http:
            refused = await http.post("/v1/chat/completions", content=json.dumps(big), headers=headers)
            assert refused.status_code == 413 and refused.json()["error"]["code"] == "request_too_large", (
                refused.text
            )
            assert await _agent_online(gateway)
            ok = await http.post(
                "/v1/chat/completions",
                json={"model": "my-clone", "messages": [{"role": "user", "content": "Hi"}]},
                headers=headers,
            )
        assert ok.status_code == 200, ok.text
        assert agent.log.read_text().count("linked to gateway") == 1
        await owner.close()
    finally:
        gateway.stop()
