"""Admin safety: DNS rebinding (Host) and CSRF (Origin) refusals, body size limit."""

from __future__ import annotations

import pytest
import yaml


@pytest.mark.parametrize("host", ["evil.example", "attacker.test:3000", "192.168.1.10:3000", "localhost.evil.example"])
async def test_foreign_host_is_refused(agent, host):
    response = await agent.client.get("/api/clone", headers={"host": host})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "host_not_allowed"


@pytest.mark.parametrize("host", ["localhost:3000", "127.0.0.1:3000", "[::1]:3000", "LOCALHOST"])
async def test_loopback_hosts_are_served(agent, host):
    response = await agent.client.get("/api/clone", headers={"host": host})
    assert response.status_code == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "https://localhost.evil.example", "null", "file://"])
async def test_state_change_from_foreign_origin_is_refused_and_changes_nothing(agent, origin):
    original = agent.config_path.read_bytes()
    response = await agent.client.put("/api/clone", json={"name": "Pwned"}, headers={"origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert agent.config_path.read_bytes() == original
    chat = await agent.client.post("/api/chat/test", json={"message": "hi"}, headers={"origin": origin})
    assert chat.status_code == 403
    assert (await agent.client.get("/api/conversations")).json() == []


async def test_cross_site_fetch_metadata_is_refused(agent):
    response = await agent.client.put("/api/clone", json={"name": "X"}, headers={"sec-fetch-site": "cross-site"})
    assert response.status_code == 403


async def test_same_origin_admin_page_can_write(agent):
    response = await agent.client.put(
        "/api/clone", json={"name": "Local"}, headers={"origin": "http://localhost:3000", "sec-fetch-site": "same-origin"}
    )
    assert response.status_code == 200
    assert yaml.safe_load(agent.config_path.read_text())["clone"]["name"] == "Local"


async def test_oversized_body_is_413(agent):
    response = await agent.client.post("/api/chat/test", content=b"x" * 2_100_000, headers={"content-type": "application/json"})
    assert response.status_code == 413
