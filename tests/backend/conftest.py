"""Fixtures for the gateway's tests: real gateway processes on loopback (SQLite and PostgreSQL),
real agents (the tiny model) linked to them, and signed-in users talking to them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets
from sqlalchemy.engine import make_url

from aiclone_gateway.chat.protocol import ServerFrames
from tests.local_inference.conftest import (
    AgentProcess,
    model_path,  # noqa: F401 - the fixture, shared
    write_config,
)
from tests.support.processes import ServerProcess

PG_URL_FILE = Path(os.environ.get("AICLONE_TEST_PG_DIR", "/tmp/aiclone-test-pg")) / "url"
ALLOWED_ORIGIN = "http://chat.example.test"
METRICS_TOKEN = "test-metrics-token-0123456789"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
FRAME_TIMEOUT_S = 60  # generous: the tiny model shares 2 cores with everything else


def postgres_url() -> str:
    url = os.environ.get("AICLONE_TEST_PG_URL") or (
        PG_URL_FILE.read_text().strip() if PG_URL_FILE.exists() else ""
    )
    if not url:
        pytest.fail(
            'the PostgreSQL tests need a server: run eval "$(scripts/test_services.sh)" first '
            "(scripts/test.sh does), or set AICLONE_TEST_PG_URL"
        )
    return url


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _new_database(kind: str, folder: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / f'gateway-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    base = postgres_url()
    name = f"gw_{uuid.uuid4().hex[:16]}"
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(base), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"cannot reach the test PostgreSQL at {make_url(base).render_as_string()}: {exc}; "
            'run eval "$(scripts/test_services.sh)"'
        )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database_url(request, tmp_path_factory) -> AsyncIterator[str]:
    """A database shared by the session's gateway: a SQLite file or one on the test PostgreSQL
    (the root conftest parametrizes it: PostgreSQL too only for tests marked ``databases``)."""
    async for url in _new_database(request.param, tmp_path_factory.mktemp("db")):
        yield url


@pytest.fixture
async def fresh_database_url(request, tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty database for one test (first-user and offline rules need a clean gateway)."""
    async for url in _new_database(request.param, tmp_path):
        yield url


class GatewayProcess(ServerProcess):
    """``python -m aiclone_gateway serve`` as a real process on a free loopback port."""

    module, name = "aiclone_gateway", "gateway"

    def __init__(self, home: Path, database_url: str, **settings: object) -> None:
        super().__init__(home)
        self.data_dir = home / f"gateway-{self.port}"
        self.env = {
            **os.environ,
            "AICLONE_GATEWAY_HOST": "127.0.0.1",
            "AICLONE_GATEWAY_PORT": str(self.port),
            "AICLONE_GATEWAY_DATA_DIR": str(self.data_dir),
            "AICLONE_GATEWAY_DATABASE_URL": database_url,
            "AICLONE_GATEWAY_ALLOWED_ORIGINS": json.dumps([ALLOWED_ORIGIN]),
            "AICLONE_GATEWAY_HEARTBEAT_INTERVAL_S": "0.5",
            "AICLONE_GATEWAY_HEARTBEAT_TIMEOUT_S": "3",
            "AICLONE_GATEWAY_AUTH_RATE_LIMIT": "1000",
            "AICLONE_GATEWAY_OFFLINE_RETRY_AFTER_S": "7",
            "AICLONE_GATEWAY_METRICS_TOKEN": METRICS_TOKEN,
            "PYTHONUNBUFFERED": "1",
        }
        self.env.update({f"AICLONE_GATEWAY_{k.upper()}": str(v) for k, v in settings.items()})

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "jwt_ed25519.pem"


@pytest.fixture(scope="session")
def gateway(tmp_path_factory, database_url: str) -> Iterator[GatewayProcess]:
    """One gateway per database kind for the session; tests use their own users on it."""
    process = GatewayProcess(tmp_path_factory.mktemp("gateway"), database_url).start()
    yield process
    process.stop()


@pytest.fixture
def fresh_gateway(tmp_path: Path, fresh_database_url: str) -> Iterator[GatewayProcess]:
    process = GatewayProcess(tmp_path, fresh_database_url).start()
    yield process
    process.stop()


class ChatUser:
    """A signed-in user of one gateway."""

    def __init__(self, gateway: GatewayProcess, email: str, password: str = "correct horse battery") -> None:
        self.gateway = gateway
        self.email = email
        self.password = password
        self.http = httpx.AsyncClient(base_url=gateway.url, timeout=60)
        self.tokens: dict = {}

    async def register(self, setup_code: str | None = None) -> dict:
        body = {"email": self.email, "password": self.password}
        if setup_code is not None:  # a production gateway's first account
            body["setup_code"] = setup_code
        response = await self.http.post("/api/auth/register", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def login(self) -> dict:
        response = await self.http.post(
            "/api/auth/login", json={"email": self.email, "password": self.password}
        )
        assert response.status_code == 200, response.text
        self.tokens = response.json()
        self.http.headers["Authorization"] = f"Bearer {self.tokens['access_token']}"
        return self.tokens

    async def ticket(self) -> str:
        response = await self.http.post("/api/chat/ticket")
        assert response.status_code == 200, response.text
        return response.json()["ticket"]

    @asynccontextmanager
    async def socket(self, origin: str | None = ALLOWED_ORIGIN) -> AsyncIterator[websockets.ClientConnection]:
        url = f"{self.gateway.ws_url}/ws/chat?ticket={await self.ticket()}"
        async with websockets.connect(url, origin=origin, open_timeout=10) as ws:
            status = await next_frame(ws)
            assert status["type"] == "status"
            yield ws

    async def ask(
        self, ws, text: str, conversation_id: str | None = None, timeout: float = FRAME_TIMEOUT_S
    ) -> list[dict]:
        """Send one message; the frames up to its end, error or queued frame."""
        await ws.send(
            json.dumps(
                {
                    "type": "message",
                    "conversation_id": conversation_id,
                    "text": text,
                    "client_id": uuid.uuid4().hex,
                }
            )
        )
        return await frames_until(ws, {"end", "error", "queued"}, timeout)

    async def close(self) -> None:
        await self.http.aclose()


def read_frame(text: str | bytes) -> dict:
    """A frame from /ws/chat, checked against the browser contract (chat/protocol.py) on the way."""
    ServerFrames.validate_json(text, strict=True)
    return json.loads(text)


async def next_frame(ws, timeout: float = FRAME_TIMEOUT_S) -> dict:
    async with asyncio.timeout(timeout):
        return read_frame(await ws.recv())


async def frames_until(ws, kinds: set[str], timeout: float = FRAME_TIMEOUT_S) -> list[dict]:
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frame = read_frame(await ws.recv())
            frames.append(frame)
            if frame["type"] in kinds:
                return frames


@pytest.fixture(scope="session")
async def owner(gateway: GatewayProcess) -> AsyncIterator[ChatUser]:
    """The session gateway's owner: the first to register on it."""
    user = ChatUser(gateway, "owner@example.test")
    assert (await user.register())["role"] == "owner"
    await user.login()
    yield user
    await user.close()


async def sign_up(gateway: GatewayProcess, count: int) -> list[ChatUser]:
    created = [ChatUser(gateway, f"user-{uuid.uuid4().hex[:10]}@example.test") for _ in range(count)]
    for user in created:
        await user.register()
        await user.login()
    return created


@pytest.fixture
async def users(gateway: GatewayProcess, owner: ChatUser) -> AsyncIterator[list[ChatUser]]:
    """Two new signed-in (non-owner) users of the session gateway."""
    created = await sign_up(gateway, 2)
    yield created
    for user in created:
        await user.close()


async def create_agent_token(owner: ChatUser) -> str:
    response = await owner.http.post("/api/agents", json={"name": "test agent"})
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def wait_online(gateway: GatewayProcess, online: bool = True, timeout: float = 30) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (await http.get("/api/status")).json()["agent_online"] is online:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"agent_online never became {online}")


@pytest.fixture(scope="session")
def shared_agent(tmp_path_factory, model_path: Path) -> Iterator[AgentProcess]:  # noqa: F811 - the shared fixture
    """One real agent for the whole session; ``linked_agent`` points it at each test's gateway."""
    home = tmp_path_factory.mktemp("shared-agent")
    config = write_config(home / "config.yaml", model={"base_model_path": str(model_path), "n_threads": 1})
    process = AgentProcess(home, model_path, config_path=config).start()
    yield process
    process.stop()


async def link_agent(agent: AgentProcess, gateway: GatewayProcess, token: str) -> None:
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        response = await http.put("/api/gateway", json={"url": gateway.ws_url, "agent_token": token})
        assert response.status_code == 200, response.text
    await wait_online(gateway)


@pytest.fixture(scope="session")
async def linked_agent(
    shared_agent: AgentProcess, gateway: GatewayProcess, owner: ChatUser
) -> AsyncIterator[AgentProcess]:
    """The shared agent, linked to the session gateway."""
    await link_agent(shared_agent, gateway, await create_agent_token(owner))
    yield shared_agent
    async with httpx.AsyncClient(base_url=shared_agent.url, timeout=30) as http:
        await http.put("/api/gateway", json={"url": "", "agent_token": ""})


@pytest.fixture
def own_agent(tmp_path: Path, model_path: Path) -> Iterator[Callable[..., AgentProcess]]:  # noqa: F811 - the shared fixture
    """Starts agents of this test's own (they may be killed); all are stopped at the end."""
    started: list[AgentProcess] = []

    def start(
        gateway: GatewayProcess,
        token: str,
        max_tokens: int = 24,
        home: Path | None = None,
        model: dict | None = None,
        lan: dict | None = None,
    ) -> AgentProcess:
        home = home or tmp_path / f"agent-{len(started)}"
        home.mkdir(exist_ok=True)
        config = write_config(
            home / "config.yaml",
            model={
                "base_model_path": str(model_path),
                "max_tokens": max_tokens,
                "n_threads": 1,
                **(model or {}),
            },
            gateway={"url": gateway.ws_url, "agent_token": token},
            lan=lan or {},
        )
        process = AgentProcess(home, model_path, config_path=config).start()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc and process.proc.poll() is None and process.proc.returncode is None:
            try:
                process.proc.send_signal(signal.SIGCONT)
            except ProcessLookupError:
                pass
        process.stop()
