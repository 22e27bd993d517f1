"""A home network with the VDS gone: a real gateway issues LAN tokens (one revoked while it is up),
a real agent linked to it caches its keys and revocations, then the gateway is stopped (``HomeLan``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.backend.conftest import ChatUser, GatewayProcess, create_agent_token, wait_online
from tests.local_inference.conftest import AgentProcess, write_config
from tests.support.processes import free_port

SYNC_TIMEOUT_S = 30


@dataclass
class HomeLan:
    gateway: GatewayProcess  # stopped
    agent: AgentProcess
    lan_port: int
    agent_id: str  # the id the gateway knows the agent by (the aud of its direct tokens)
    name: str  # the family member's account (their name in the tokens)
    user_id: str
    token: str  # their live LAN token
    revoked_token: str  # revoked while the gateway was up
    access_token: str  # their gateway access token (not a LAN token)
    other_token: str  # another user's live LAN token
    blocked_token: str  # of an account the owner blocked while the gateway was up
    deleted_token: str  # of an account the owner deleted while the gateway was up

    @property
    def lan_url(self) -> str:
        return f"http://127.0.0.1:{self.lan_port}"

    def lan(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.lan_url, headers=headers, timeout=60)

    async def agent_status(self) -> dict:
        async with httpx.AsyncClient(base_url=self.agent.url, timeout=10) as http:
            return (await http.get("/api/status")).json()


async def _lan_token(user: ChatUser, name: str) -> dict:
    response = await user.http.post("/api/lan-tokens", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


async def wait_revocations(lan: HomeLan | AgentProcess, count: int) -> None:
    """Until the agent holds ``count`` revocations synced from the gateway."""
    url = lan.agent.url if isinstance(lan, HomeLan) else lan.url
    deadline = time.monotonic() + SYNC_TIMEOUT_S
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        while time.monotonic() < deadline:
            revocations = (await http.get("/api/status")).json()["lan"]["revocations"]
            if revocations["synced_at"] is not None and revocations["revoked"] == count:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"the agent never held {count} revocations: {revocations}")


@pytest.fixture(scope="module")
async def home_lan(tmp_path_factory, model_path: Path) -> AsyncIterator[HomeLan]:
    home = tmp_path_factory.mktemp("home-lan")
    gateway = GatewayProcess(home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}").start(timeout=180)
    owner = ChatUser(gateway, f"owner-{uuid.uuid4().hex[:6]}@example.test")
    family = ChatUser(gateway, f"mum-{uuid.uuid4().hex[:6]}@example.test")
    other = ChatUser(gateway, f"kid-{uuid.uuid4().hex[:6]}@example.test")
    blocked = ChatUser(gateway, f"lodger-{uuid.uuid4().hex[:6]}@example.test")
    deleted = ChatUser(gateway, f"guest-{uuid.uuid4().hex[:6]}@example.test")
    everyone = (owner, family, other, blocked, deleted)
    agent = None
    try:
        for user in everyone:
            await user.register()
            await user.login()
        agent_token = await create_agent_token(owner)
        (linked,) = (await owner.http.get("/api/agents")).json()
        token = (await _lan_token(family, "kitchen"))["token"]
        doomed = await _lan_token(family, "old phone")
        other_token = (await _lan_token(other, "tablet"))["token"]
        blocked_token = (await _lan_token(blocked, "phone"))["token"]
        deleted_token = (await _lan_token(deleted, "laptop"))["token"]
        me = (await family.http.get("/api/users/me")).json()
        lan_port = free_port()
        config = write_config(
            home / "config.yaml",
            model={"base_model_path": str(model_path), "max_tokens": 8, "n_threads": 1},
            gateway={"url": gateway.ws_url, "agent_token": agent_token},
            lan={"enabled": True, "host": "127.0.0.1", "port": lan_port},
        )
        agent = AgentProcess(home, model_path, config_path=config).start(timeout=180)
        await wait_online(gateway)
        await wait_revocations(agent, 0)  # linked: keys and the (empty) list are cached
        revoked = await family.http.delete(f"/api/lan-tokens/{doomed['id']}")
        assert revoked.status_code == 204, revoked.text
        await wait_revocations(agent, 1)  # pushed to the agent while the gateway is up
        blocked_id = (await blocked.http.get("/api/users/me")).json()["id"]
        deleted_id = (await deleted.http.get("/api/users/me")).json()["id"]
        response = await owner.http.patch(f"/api/admin/users/{blocked_id}", json={"role": "blocked"})
        assert response.status_code == 200, response.text
        response = await owner.http.delete(f"/api/admin/users/{deleted_id}")
        assert response.status_code == 204, response.text
        await wait_revocations(agent, 3)
        lan = HomeLan(
            gateway=gateway,
            agent=agent,
            lan_port=lan_port,
            agent_id=linked["id"],
            name=family.email,
            user_id=me["id"],
            token=token,
            revoked_token=doomed["token"],
            access_token=family.tokens["access_token"],
            other_token=other_token,
            blocked_token=blocked_token,
            deleted_token=deleted_token,
        )
    except BaseException:
        if agent is not None:
            agent.stop()
        raise
    finally:
        for user in everyone:
            await user.close()
        gateway.stop()  # the VDS is gone from here on
    try:
        yield lan
    finally:
        agent.stop()
