"""``/agent/ws`` spoken to by a scripted agent (raw frames): authentication, hello and version
check, one live link per agent, multiplexed and flow-controlled requests, failure on drop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import websockets

from aiclone_wire import PROTOCOL_VERSION, Chunk, Credit, End, Hello, Request, decode, encode
from tests.support.fixtures.gateways import (
    METRICS_HEADERS,
    ChatUser,
    GatewayProcess,
    create_agent_token,
    sign_up,
    wait_online,
)


@pytest.fixture(scope="module")
def link_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """One gateway of this module's own: its scripted agents would unlink the session's agent.
    Each test links with an agent token of its own and leaves the gateway with no link."""
    home = tmp_path_factory.mktemp("link-gateway")
    process = GatewayProcess(home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def link_owner(link_gateway: GatewayProcess) -> AsyncIterator[ChatUser]:
    (owner,) = await sign_up(link_gateway, 1)
    yield owner
    await owner.close()


@pytest.fixture
async def owner_token(link_owner: ChatUser) -> tuple[ChatUser, str]:
    return link_owner, await create_agent_token(link_owner)


async def _agent_token_failures(gateway: GatewayProcess) -> float:
    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{gateway.url}/metrics", headers=METRICS_HEADERS)).text
    name = 'aiclone_gateway_auth_failures_total{kind="agent_token"}'
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name))


async def _link(gateway: GatewayProcess, token: str, version: int = PROTOCOL_VERSION):
    ws = await websockets.connect(
        f"{gateway.ws_url}/agent/ws", additional_headers={"Authorization": f"Bearer {token}"}
    )
    await ws.send(
        encode(
            Hello(
                role="agent",
                protocol_version=version,
                clone_id="scripted",
                clone_name="Scripted",
                models=["scripted"],
            )
        )
    )
    return ws, decode(await ws.recv())


async def _next_request(ws) -> Request:
    async with asyncio.timeout(10):
        while True:
            frame = decode(await ws.recv())
            if isinstance(frame, Request):
                return frame


async def _answer_frame(chat) -> dict:
    """The chat socket's next frame of the answer: ``status`` frames (the clone's online state,
    broadcast whenever a link comes or goes, as the relink here does) may arrive between them."""
    async with asyncio.timeout(30):
        while True:
            frame = json.loads(await chat.recv())
            if frame["type"] != "status":
                return frame


async def test_unknown_agent_tokens_are_refused(link_gateway: GatewayProcess):
    refused_before = await _agent_token_failures(link_gateway)
    for headers in ({"Authorization": "Bearer agt_forged"}, {}):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{link_gateway.ws_url}/agent/ws", additional_headers=headers)
        assert refused.value.response.status_code == 403
    assert await _agent_token_failures(link_gateway) == refused_before + 2


async def test_hello_exchange_and_version_check(owner_token, link_gateway: GatewayProcess):
    _, token = owner_token
    ws, reply = await _link(link_gateway, token, version=PROTOCOL_VERSION + 1)
    assert reply.type == "error" and reply.code == "protocol_version"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd.code == 4002
    ws, reply = await _link(link_gateway, token)
    assert isinstance(reply, Hello) and reply.role == "gateway" and reply.jwks["keys"][0]["crv"] == "Ed25519"
    await wait_online(link_gateway)
    async with httpx.AsyncClient() as http:
        status = (await http.get(f"{link_gateway.url}/api/status")).json()
    assert status["clone"] == {"name": "Scripted"}
    await ws.close()
    await wait_online(link_gateway, online=False)


async def test_a_new_link_replaces_the_old_one_and_fails_its_requests(
    owner_token, link_gateway: GatewayProcess
):
    owner, token = owner_token
    old, _ = await _link(link_gateway, token)
    await wait_online(link_gateway)
    async with owner.socket() as chat:
        await chat.send(json.dumps({"type": "message", "text": "hello"}))
        request = await _next_request(old)
        assert request.body["messages"] == [{"role": "user", "content": "hello"}]
        await old.send(encode(Chunk(id=request.id, delta="Hi")))
        new, _ = await _link(link_gateway, token)  # same agent, e.g. after its network changed
        frames = [await _answer_frame(chat) for _ in range(3)]
        assert [f["type"] for f in frames] == ["accepted", "chunk", "error"]
        assert frames[2]["code"] == "agent_disconnected"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await old.recv()
        assert closed.value.rcvd.code == 4000
        await chat.send(json.dumps({"type": "message", "text": "again"}))
        request = await _next_request(new)  # the new link serves
        await new.send(encode(End(id=request.id, finish_reason="stop")))
        assert (await _answer_frame(chat))["type"] == "accepted"
        assert (await _answer_frame(chat))["type"] == "end"
    await new.close()


async def test_requests_are_multiplexed_with_credit(owner_token, link_gateway: GatewayProcess):
    owner, token = owner_token
    agent, _ = await _link(link_gateway, token)
    await wait_online(link_gateway)
    async with owner.socket() as first, owner.socket() as second:
        await first.send(json.dumps({"type": "message", "text": "one"}))
        await second.send(json.dumps({"type": "message", "text": "two"}))
        requests = [await _next_request(agent), await _next_request(agent)]
        assert requests[0].id != requests[1].id
        window = requests[0].credit
        for i in range(window):  # interleaved on the one link
            for request in requests:
                await agent.send(
                    encode(Chunk(id=request.id, delta=f"{request.body['messages'][-1]['content']}{i} "))
                )
        credits: list[Credit] = []
        async with asyncio.timeout(10):  # each stream acknowledges as its reader consumes
            while {c.id for c in credits} != {r.id for r in requests}:
                frame = decode(await agent.recv())
                if isinstance(frame, Credit):
                    credits.append(frame)
        assert all(c.chunks >= window // 2 for c in credits)
        for request in requests:
            await agent.send(encode(End(id=request.id, finish_reason="stop")))
        for socket, word in ((first, "one"), (second, "two")):
            frames = []
            while not frames or frames[-1]["type"] != "end":
                frames.append(json.loads(await socket.recv()))
            deltas = [f["delta"] for f in frames if f["type"] == "chunk"]
            assert deltas == [f"{word}{i} " for i in range(window)]
    await agent.close()


async def test_revoking_the_agent_token_cuts_the_link(owner_token, link_gateway: GatewayProcess):
    owner, token = owner_token
    agent, _ = await _link(link_gateway, token)
    await wait_online(link_gateway)
    (entry,) = [e for e in (await owner.http.get("/api/agents")).json() if e["linked"]]
    assert "token" not in entry
    assert (await owner.http.delete(f"/api/agents/{entry['id']}")).status_code == 204
    await wait_online(link_gateway, online=False)
    with pytest.raises(websockets.InvalidStatus):
        await _link(link_gateway, token)
    await agent.close()
