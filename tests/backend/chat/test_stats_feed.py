"""The gateway's live numbers for the agent's overview page (``gateway_stats`` frames), read by a
scripted agent on a real gateway: right after hello and then every interval, only to agents that
ask for them, counting open chat sockets, queued questions, requests in flight and errors."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator

import pytest
import websockets

from aiclone_wire import Error, GatewayStats, Hello, Ping, Pong, Request, decode, encode
from tests.support.fixtures.gateways import (
    ChatUser,
    GatewayProcess,
    create_agent_token,
    frames_until,
    sign_up,
)

INTERVAL_S = 0.3


@pytest.fixture(scope="module")
def stats_gateway(tmp_path_factory) -> Iterator[GatewayProcess]:
    home = tmp_path_factory.mktemp("stats-gateway")
    process = GatewayProcess(
        home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}", stats_interval_s=INTERVAL_S
    ).start(timeout=180)
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def owner(stats_gateway: GatewayProcess) -> AsyncIterator[ChatUser]:
    """The gateway's owner (its first account): only the owner makes agent tokens."""
    (user,) = await sign_up(stats_gateway, 1)
    yield user
    await user.close()


class ScriptedAgent:
    """An agent link driven by the test: answers pings as a real agent does (the gateway drops a
    link silent past its heartbeat timeout, 3 s here), and keeps the frames a wait passed over
    (the queued question's request may come before the first stats frame)."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.held: list = []

    async def next(self, kind: type, timeout: float = 10):
        for index, frame in enumerate(self.held):
            if isinstance(frame, kind):
                return self.held.pop(index)
        async with asyncio.timeout(timeout):
            while True:
                frame = decode(await self.ws.recv())
                if isinstance(frame, Ping):
                    await self.ws.send(encode(Pong(sent_at=frame.sent_at)))
                if isinstance(frame, kind):
                    return frame
                if not isinstance(frame, Ping | GatewayStats):  # stats come again; the rest once
                    self.held.append(frame)

    async def send(self, frame) -> None:
        await self.ws.send(encode(frame))

    async def close(self) -> None:
        await self.ws.close()


async def _link(gateway: GatewayProcess, token: str, capabilities: list[str]) -> ScriptedAgent:
    ws = await websockets.connect(
        f"{gateway.ws_url}/agent/ws", additional_headers={"Authorization": f"Bearer {token}"}
    )
    await ws.send(encode(Hello(role="agent", clone_name="Scripted", capabilities=capabilities)))
    assert isinstance(decode(await ws.recv()), Hello)
    return ScriptedAgent(ws)


@pytest.mark.process
async def test_an_agent_that_asks_hears_users_queue_requests_and_errors(
    stats_gateway: GatewayProcess, owner: ChatUser
):
    token = await create_agent_token(owner)
    # an agent that does not ask (older ones would log each frame as unknown) gets none
    quiet = await _link(stats_gateway, token, ["chat"])
    with pytest.raises(TimeoutError):
        await quiet.next(GatewayStats, timeout=4 * INTERVAL_S)
    await quiet.close()

    async with owner.socket() as chat:
        # the clone is offline: the question waits in the gateway's queue
        await chat.send(
            json.dumps({"type": "message", "conversation_id": None, "text": "hi", "client_id": "c1"})
        )
        assert (await frames_until(chat, {"queued"}))[-1]["type"] == "queued"

        agent = await _link(stats_gateway, token, ["chat", "gateway_stats"])
        first = await agent.next(GatewayStats)  # sent right after hello (a loaded machine may be slow)
        assert (first.users_online, first.chat_sockets, first.queued_questions) == (1, 1, 1)
        assert first.replicas == 1 and first.errors == 0 and first.interval_s == INTERVAL_S

        request = await agent.next(Request)  # the queued question, relayed now
        busy = await agent.next(GatewayStats)
        assert busy.requests_in_flight == 1

        await agent.send(Error(id=request.id, code="engine_error", message="boom", status=503))
        async with asyncio.timeout(10):
            while (after := await agent.next(GatewayStats)).errors == 0:
                pass
        assert after.errors == 1 and after.requests_in_flight == 0
        async with asyncio.timeout(10):
            while (after := await agent.next(GatewayStats)).queued_questions:
                pass  # the question ended (as an error): no longer queued

    async with asyncio.timeout(10):
        while (left := await agent.next(GatewayStats)).users_online:
            pass
    assert left.chat_sockets == 0
    await agent.close()


@pytest.mark.process
async def test_stats_arrive_every_interval(stats_gateway: GatewayProcess, owner: ChatUser):
    agent = await _link(stats_gateway, await create_agent_token(owner), ["gateway_stats"])
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(4):
        await agent.next(GatewayStats)
        times.append(loop.time())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(INTERVAL_S * 0.5 < gap < INTERVAL_S * 5 for gap in gaps), gaps
    await agent.close()
