"""The gateway's side of long-term memory, against a scripted agent (raw frames) on a real gateway:
every relayed request names the person the gateway authenticated (never one from the body),
``/api/me/memories*`` and ``/api/me/memory-settings`` are relayed as ``memory_request`` frames,
recalled ``memories`` reach the web chat and the OpenAI API, and a deleted account's erasure waits
in the database until the agent acknowledges it, across an offline agent and a gateway restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timezone

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from aiclone_wire import (
    End,
    Error,
    Hello,
    MemoryRecord,
    MemoryRequest,
    MemoryResult,
    Request,
    decode,
    encode,
)
from tests.support.fixtures.cluster import redis_url
from tests.support.fixtures.gateways import (
    ChatUser,
    GatewayProcess,
    _new_database,
    create_agent_token,
    frames_until,
    sign_up,
    wait_online,
)

pytestmark = pytest.mark.process  # a gateway process of its own, and scripted agent links
AT = datetime(2026, 11, 30, 18, 5, tzinfo=timezone.utc)


def record(text: str, memory_id: str = "m_0123456789abcdef") -> MemoryRecord:
    return MemoryRecord(id=memory_id, text=text, at=AT, conversation_id="c1", channel="web")


class ScriptedAgent:
    """An agent link that records every request and answers memory requests with ``answer``."""

    def __init__(self, ws, answer: Callable[[MemoryRequest], MemoryResult | Error | None]) -> None:
        self.ws = ws
        self.answer = answer
        self.memory_requests: list[MemoryRequest] = []
        self.requests: asyncio.Queue[Request] = asyncio.Queue()
        self._task = asyncio.create_task(self._serve())

    async def _serve(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.ws:
                frame = decode(text)
                if isinstance(frame, MemoryRequest):
                    self.memory_requests.append(frame)
                    reply = self.answer(frame)
                    if reply is not None:
                        await self.ws.send(encode(reply))
                elif isinstance(frame, Request):
                    self.requests.put_nowait(frame)

    async def next_request(self) -> Request:
        async with asyncio.timeout(10):
            return await self.requests.get()

    async def close(self) -> None:
        await self.ws.close()
        await self._task


@contextlib.asynccontextmanager
async def scripted_agent(
    gateway: GatewayProcess,
    token: str,
    answer: Callable[[MemoryRequest], MemoryResult | Error | None] = lambda r: MemoryResult(id=r.id),
) -> AsyncIterator[ScriptedAgent]:
    ws = await websockets.connect(
        f"{gateway.ws_url}/agent/ws", additional_headers={"Authorization": f"Bearer {token}"}
    )
    # a capability of its own: with replicas, the owner record's claim (Lua cjson) turns an empty
    # list into {} until its first renewal, which other replicas then cannot read as a hello
    hello = Hello(role="agent", clone_id="scripted", clone_name="Scripted", models=["s"], capabilities=["x"])
    await ws.send(encode(hello))
    assert isinstance(decode(await ws.recv()), Hello)
    agent = ScriptedAgent(ws, answer)
    await wait_online(gateway)
    try:
        yield agent
    finally:
        await agent.close()
        await wait_online(gateway, online=False)


@pytest.fixture(scope="module")
def memory_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """A gateway of this module's own (its scripted agents would unlink the session's agent)."""
    home = tmp_path_factory.mktemp("memory-gateway")
    process = GatewayProcess(home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def people(memory_gateway: GatewayProcess) -> AsyncIterator[tuple[ChatUser, ChatUser, str]]:
    """The owner, a user, and an agent token."""
    owner, user = await sign_up(memory_gateway, 2)
    yield owner, user, await create_agent_token(owner)
    await owner.close()
    await user.close()


async def user_id(user: ChatUser) -> str:
    return (await user.http.get("/api/users/me")).json()["id"]


async def test_every_relayed_request_names_the_signed_in_person(memory_gateway, people):
    _, user, token = people
    key = (await user.http.post("/api/keys", json={"name": "memory"})).json()["key"]
    async with scripted_agent(memory_gateway, token) as agent:
        async with user.socket() as ws:
            await ws.send(json.dumps({"type": "message", "text": "my dog is Rex"}))
            web = await agent.next_request()
            recalled = record("Q: my dog is Rex\nA: noted")
            await agent.ws.send(encode(End(id=web.id, finish_reason="stop", memories=[recalled])))
            end = (await frames_until(ws, {"end"}))[-1]
        async with httpx.AsyncClient(base_url=memory_gateway.url, timeout=30) as http:
            # who the body says it is (OpenAI's ``user``) is the client's word, never the person
            body = {"model": "s", "messages": [{"role": "user", "content": "hi"}], "user": "owner"}
            answer = asyncio.create_task(
                http.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
            )
            api = await agent.next_request()
            await agent.ws.send(encode(End(id=api.id, finish_reason="stop", memories=[recalled])))
            completion = (await answer).json()
    me = await user_id(user)
    assert (web.channel, web.person) == ("web", f"user:{me}")
    assert (api.channel, api.person) == ("api", f"user:{me}")
    expected = recalled.model_dump(mode="json", exclude={"person"})
    assert end["memories"] == [expected] and completion["memories"] == [expected]


async def test_memories_are_relayed_for_the_signed_in_user_only(memory_gateway, people):
    _, user, token = people
    mine = record("Q: my dog is Rex\nA: noted")

    def answer(request: MemoryRequest) -> MemoryResult | Error:
        if request.op == "list":
            return MemoryResult(id=request.id, memories=[mine], enabled=True)
        if request.op == "delete":
            return MemoryResult(id=request.id, deleted=1 if request.memory_id == mine.id else 0)
        if request.op == "delete_all":
            return MemoryResult(id=request.id, deleted=3)
        return MemoryResult(id=request.id, enabled=request.enabled is not False)

    async with scripted_agent(memory_gateway, token, answer) as agent:
        listed = await user.http.get("/api/me/memories", params={"q": "dog"})
        gone = await user.http.delete(f"/api/me/memories/{mine.id}")
        absent = await user.http.delete("/api/me/memories/m_ffffffffffffffff")
        everything = await user.http.delete("/api/me/memories")
        switched = await user.http.put("/api/me/memory-settings", json={"enabled": False})
        read = await user.http.get("/api/me/memory-settings")
        refused = await user.http.put("/api/me/memory-settings", json={"enabled": False, "person": "owner"})
    assert listed.status_code == 200 and listed.json()["enabled"] is True
    assert [m["id"] for m in listed.json()["memories"]] == [mine.id]
    assert "person" not in listed.json()["memories"][0]
    assert gone.status_code == 204
    assert absent.status_code == 404 and absent.json()["error"]["code"] == "memory_not_found"
    assert everything.json() == {"deleted": 3}
    assert switched.json() == {"enabled": False} and read.json() == {"enabled": True}
    assert refused.status_code == 400  # nobody names a person but the gateway
    me = f"user:{await user_id(user)}"
    assert [(r.op, r.person) for r in agent.memory_requests] == [
        ("list", me),
        ("delete", me),
        ("delete", me),
        ("delete_all", me),
        ("settings", me),
        ("settings", me),
    ]
    assert agent.memory_requests[0].query == "dog"
    assert [r.enabled for r in agent.memory_requests[-2:]] == [False, None]


async def test_agent_errors_and_an_offline_agent_answer_in_the_gateway_error_shape(memory_gateway, people):
    _, user, token = people
    offline = await user.http.get("/api/me/memories")
    assert offline.status_code == 503
    assert offline.json()["error"] == {
        "message": offline.json()["error"]["message"],
        "type": "service_unavailable",
        "param": None,
        "code": "agent_offline",
    }
    assert (await httpx.AsyncClient(base_url=memory_gateway.url).get("/api/me/memories")).status_code == 401

    def refuse(request: MemoryRequest) -> Error:
        return Error(id=request.id, code="memory_busy", message="the memory store is busy", status=503)

    async with scripted_agent(memory_gateway, token, refuse):
        busy = await user.http.delete("/api/me/memories")
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "memory_busy"
    spec = (await user.http.get("/openapi.json")).json()
    listed = spec["paths"]["/api/me/memories"]["get"]["responses"]
    assert "503" in listed and listed["503"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorResponse"
    )


async def test_a_deleted_account_is_erased_on_the_agent_once_it_is_back(tmp_path):
    """Deleted while the agent is away (and the gateway restarted meanwhile): the erasure goes on
    the next link, again on each link until the agent acknowledges it, and then never again."""
    gateway = GatewayProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}").start()
    try:
        owner, leaver = await sign_up(gateway, 2)
        token = await create_agent_token(owner)
        gone = f"user:{await user_id(leaver)}"
        assert (await owner.http.delete(f"/api/admin/users/{gone[5:]}")).status_code == 204
        gateway.stop()
        gateway.start()
        await owner.login()

        async with scripted_agent(gateway, token, lambda r: None) as silent:  # never acknowledges
            await until(lambda: len(silent.memory_requests) == 1)
        async with scripted_agent(gateway, token, lambda r: MemoryResult(id=r.id, deleted=2)) as agent:
            await until(lambda: len(agent.memory_requests) == 1)
        async with scripted_agent(gateway, token) as later:
            # a deletion now, with the agent linked, goes at once; the acknowledged one never again
            (other,) = await sign_up(gateway, 1)
            now = f"user:{await user_id(other)}"
            assert (await owner.http.delete(f"/api/admin/users/{now[5:]}")).status_code == 204
            await until(lambda: len(later.memory_requests) == 1)
        for request in (*silent.memory_requests, *agent.memory_requests):
            assert (request.op, request.person) == ("delete_all", gone)
        assert silent.memory_requests[0].id == agent.memory_requests[0].id  # the same erasure, resent
        assert [(r.op, r.person) for r in later.memory_requests] == [("delete_all", now)]
        await owner.close()
        await leaver.close()
        await other.close()
    finally:
        gateway.stop()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_replica_without_the_link_relays_memory_requests_and_persons(
    tmp_path, postgres_database, replicas_prefix
):
    """Two replicas on one database and one Redis: the agent is linked to A, the user talks to B."""
    a, b = (
        GatewayProcess(
            tmp_path / name,
            postgres_database,
            redis_url=redis_url(),
            redis_prefix=replicas_prefix,
            replica_id=name,
            jwt_key_file=tmp_path / "jwt_ed25519.pem",
        )
        for name in ("a", "b")
    )
    mine = record("Q: my dog is Rex\nA: noted")
    try:
        for replica in (a, b):
            replica.home.mkdir()
            replica.start()
        owner, user = await sign_up(a, 2)
        token = await create_agent_token(owner)
        user.http.base_url = httpx.URL(b.url)
        user.gateway = b
        async with scripted_agent(a, token, lambda r: MemoryResult(id=r.id, memories=[mine])) as agent:
            await wait_online(b)
            listed = await user.http.get("/api/me/memories")
            async with user.socket() as ws:
                await ws.send(json.dumps({"type": "message", "text": "my dog is Rex"}))
                web = await agent.next_request()
                await agent.ws.send(encode(End(id=web.id, finish_reason="stop", memories=[mine])))
                end = (await frames_until(ws, {"end"}))[-1]
        me = f"user:{await user_id(user)}"
        assert [m["id"] for m in listed.json()["memories"]] == [mine.id]
        assert [(r.op, r.person) for r in agent.memory_requests] == [("list", me)]
        assert web.person == me and [m["id"] for m in end["memories"]] == [mine.id]
        await owner.close()
        await user.close()
    finally:
        for replica in (a, b):
            replica.stop()


@pytest.fixture
async def postgres_database(tmp_path) -> AsyncIterator[str]:
    async for url in _new_database("postgresql", tmp_path):
        yield url


@pytest.fixture
async def replicas_prefix() -> AsyncIterator[str]:
    """The replicas' Redis keys, deleted afterwards."""
    name = f"memory-{uuid.uuid4().hex[:10]}"
    yield name
    redis = Redis.from_url(redis_url(), decode_responses=True)
    stale = [key async for key in redis.scan_iter(match=f"{name}:*")]
    if stale:
        await redis.delete(*stale)
    await redis.aclose()
