"""Admin safety: clients on this PC only unless a password is set, DNS rebinding (Host) and CSRF
(Origin, with its port) refusals, body size limit."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from aiclone_agent.app import create_app
from aiclone_agent.core.admin_password import hash_password
from aiclone_agent.core.config import ConfigStore, EnvSettings
from aiclone_agent.engine.base import EngineClient
from tests.support.fixtures.agents import write_config


@pytest.mark.parametrize(
    "host", ["evil.example", "attacker.test:3000", "192.168.1.10:3000", "localhost.evil.example"]
)
async def test_foreign_host_is_refused(agent, host):
    response = await agent.client.get("/api/clone", headers={"host": host})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "host_not_allowed"


@pytest.mark.parametrize("host", ["localhost:3000", "127.0.0.1:3000", "[::1]:3000", "LOCALHOST"])
async def test_loopback_hosts_are_served(agent, host):
    response = await agent.client.get("/api/clone", headers={"host": host})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "https://localhost.evil.example", "null", "file://"]
)
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
    response = await agent.client.put(
        "/api/clone", json={"name": "X"}, headers={"sec-fetch-site": "cross-site"}
    )
    assert response.status_code == 403


async def test_same_origin_admin_page_can_write(agent):
    response = await agent.client.put(
        "/api/clone",
        json={"name": "Local"},
        headers={"origin": "http://localhost:3000", "sec-fetch-site": "same-origin"},
    )
    assert response.status_code == 200
    assert yaml.safe_load(agent.config_path.read_text())["clone"]["name"] == "Local"


async def test_oversized_body_is_413(agent):
    response = await agent.client.post(
        "/api/chat/test", content=b"x" * 2_100_000, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


@asynccontextmanager
async def client_at(
    app, address: str, base_url: str = "http://127.0.0.1:3000"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose TCP peer address, as the agent sees it, is ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 51234))
    async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=60) as client:
        yield client


@pytest.mark.parametrize(
    "address", ["192.168.1.5", "10.0.0.7", "::ffff:192.168.1.5", "fe80::1", "203.0.113.9"]
)
async def test_another_machine_saying_host_localhost_is_refused(agent, address):
    original = agent.config_path.read_bytes()
    async with client_at(agent.app, address) as lan:
        read = await lan.get("/api/clone", headers={"host": "127.0.0.1:3000"})
        write = await lan.put("/api/clone", json={"name": "Pwned"}, headers={"host": "localhost:3000"})
    for response in (read, write):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "client_not_allowed"
        assert "admin-password" in response.json()["error"]["message"]
    assert agent.config_path.read_bytes() == original


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
async def test_clients_on_this_pc_are_served(agent, address):
    async with client_at(agent.app, address) as local:
        response = await local.get("/api/clone")
    assert response.status_code == 200 and "name" in response.json()


@pytest.mark.parametrize("origin", ["http://127.0.0.1:9999", "http://localhost", "https://localhost:3001"])
async def test_a_page_on_another_local_port_cannot_write(agent, origin):
    original = agent.config_path.read_bytes()
    response = await agent.client.put("/api/clone", json={"name": "Pwned"}, headers={"origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert agent.config_path.read_bytes() == original


PASSWORD = "correct horse battery"


@pytest.fixture
async def locked_app(tmp_path: Path, engine: EngineClient) -> AsyncIterator[object]:
    """An agent app opened to the LAN (its address in ``allowed_hosts``) with an admin password."""
    config_path = write_config(
        tmp_path / "config.yaml",
        admin_panel={
            "host": "0.0.0.0",
            "allowed_hosts": ["192.168.1.10"],
            "password_hash": hash_password(PASSWORD),
        },
    )
    env = EnvSettings(config=config_path, data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    app = create_app(env, ConfigStore(config_path), engine)
    yield app
    app.state.runtime.store.close()


def basic(password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"owner:{password}".encode()).decode()}


@pytest.mark.parametrize("address", ["192.168.1.5", "127.0.0.1"])
async def test_with_a_password_every_admin_request_needs_it(locked_app, address):
    async with client_at(locked_app, address, "http://192.168.1.10:3000") as client:
        missing = await client.get("/api/clone")
        wrong = await client.get("/api/clone", headers=basic("guess"))
        garbled = await client.get("/api/clone", headers={"authorization": "Basic !!!"})
        bearer = await client.get("/api/clone", headers={"authorization": f"Bearer {PASSWORD}"})
        right = await client.get("/api/clone", headers=basic(PASSWORD))
        again = await client.get("/api/clone", headers=basic(PASSWORD))  # the remembered credentials
        health = await client.get("/healthz")
    for response in (missing, wrong, garbled, bearer):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "password_required"
        assert response.headers["www-authenticate"].startswith('Basic realm="AI Clone admin"')
    assert right.status_code == 200 and "name" in right.json()
    assert again.status_code == 200
    assert health.status_code == 200


async def test_with_a_password_the_host_and_origin_checks_still_hold(locked_app):
    async with client_at(locked_app, "192.168.1.5", "http://192.168.1.10:3000") as client:
        rebound = await client.get("/api/clone", headers={**basic(PASSWORD), "host": "evil.example"})
        foreign = await client.put(
            "/api/clone",
            json={"name": "X"},
            headers={**basic(PASSWORD), "origin": "http://192.168.1.10:8080"},
        )
        same = await client.put(
            "/api/clone",
            json={"name": "LAN"},
            headers={**basic(PASSWORD), "origin": "http://192.168.1.10:3000"},
        )
    assert rebound.status_code == 403 and rebound.json()["error"]["code"] == "host_not_allowed"
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "origin_not_allowed"
    assert same.status_code == 200 and same.json()["name"] == "LAN"


async def test_the_lan_listener_still_answers_other_machines(agent):
    """The client-address rule is the admin's: the LAN listener's public routes serve the network
    (its users prove themselves with gateway tokens)."""
    async with client_at(agent.runtime.lan.app, "192.168.1.5", "http://192.168.1.10:3080") as lan:
        page = await lan.get("/")
        models = await lan.get("/v1/models")
        admin = await lan.get("/api/clone")
    assert page.status_code == 200
    assert models.status_code == 401  # asks for a LAN token, not refused for its address
    assert admin.status_code == 404  # the admin is not mounted there at all
