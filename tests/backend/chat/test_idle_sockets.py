"""What an idle chat socket keeps on a real gateway, read from its /metrics: one asyncio task (the
handler waiting for the client) and no writer task or queue until a frame goes out, and none
again once it is out. bench/load measures the memory this keeps down; this catches the regressions
(a second task per socket, a queue made up front) without timing."""

from __future__ import annotations

import json
import re
from contextlib import AsyncExitStack

import httpx

from tests.support.fixtures.gateways import METRICS_HEADERS, ChatUser, GatewayProcess, next_frame
from tests.support.fixtures.several_agents import until

SOCKETS = 20
BOUND_S = 60  # the shared machine may be slow; the conditions are polled, never waited for


async def gauges(gateway: GatewayProcess) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        text = (await http.get("/metrics", headers=METRICS_HEADERS)).text
    names = ("chat_sockets", "chat_sockets_sending", "event_loop_tasks")
    return {
        name: float(re.search(rf"^aiclone_gateway_{name} (\S+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
        for name in names
    }


async def settled(gateway: GatewayProcess, sockets: int) -> dict[str, float]:
    """The gauges once ``sockets`` are open and none has a frame waiting to go out (polled)."""
    seen: dict[str, float] = {}

    async def idle() -> bool:
        seen.update(await gauges(gateway))
        return seen["chat_sockets"] == sockets and seen["chat_sockets_sending"] == 0

    await until(idle, timeout=BOUND_S, what=f"{sockets} idle sockets")
    return seen


async def test_an_idle_socket_keeps_one_task_and_no_writer(gateway: GatewayProcess, users: list[ChatUser]):
    before = await settled(gateway, 0)
    async with AsyncExitStack() as stack:
        for index in range(SOCKETS):
            await stack.enter_async_context(users[index % 2].socket())  # each has read its status frame
        idle = await settled(gateway, SOCKETS)
        # One task per socket (uvicorn's, running the handler); a writer task or FastAPI's
        # per-request tasks would make it two or more. The few beyond are other work of the gateway.
        assert SOCKETS <= idle["event_loop_tasks"] - before["event_loop_tasks"] < SOCKETS + 5, (before, idle)
    await settled(gateway, 0)


async def test_a_socket_gets_a_writer_for_its_frames_and_loses_it_after(
    gateway: GatewayProcess, users: list[ChatUser]
):
    user = users[0]
    async with user.socket() as ws:
        await settled(gateway, 1)
        for _ in range(3):  # each answer goes out through a writer made for it
            await ws.send(json.dumps({"type": "no such frame"}))
            assert (await next_frame(ws))["type"] == "error"
            await settled(gateway, 1)
