"""The gateway's memory per idle chat WebSocket: open many ``/ws/chat`` sockets through nginx
(asyncio, ``websockets``; not Locust) and read the gateway processes' resident memory before and
after (``VmRSS`` in ``/proc/<pid>/status``, summed over the replicas), and their asyncio tasks
(``aiclone_gateway_event_loop_tasks`` on each replica's ``/metrics``: an idle socket has one)."""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import websockets
from websockets.typing import Origin

# Handshakes in flight at once: each ticket and socket takes one of the gateway's database
# connections (a pool of 10 + 20 on PostgreSQL) for a moment.
CONNECT_CONCURRENCY = 16
TICKET_SLICE = 500  # tickets live ticket_ttl_s (30 s): taken in slices that are spent at once
SETTLE_S = 3.0  # after the last socket opened, before RSS is read


def rss_kib(pid: int) -> int:
    """Resident memory of one process in KiB (``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class IdleStep:
    sockets: int  # open at the time of the reading
    rss_kib: int  # summed over the gateway processes
    kib_per_socket: float  # (rss - rss with none open) / sockets
    open_s: float  # time taken to open this step's new sockets
    tasks_per_socket: float | None = None  # (event loop tasks - tasks with none open) / sockets


class IdleSockets:
    """Idle chat sockets of one signed-in user, opened through the site at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        ca: ssl.SSLContext,
        access_token: str,
        gateway_pids: list[int],
        gateway_urls: list[str] | None = None,
    ) -> None:
        """``gateway_urls``: each replica's own address, where its ``/metrics`` is read (none: no
        task counts)."""
        self.base_url = base_url
        self.gateway_urls = gateway_urls or []
        self.ws_url = base_url.replace("https://", "wss://", 1)
        self.ca = ca
        self.access_token = access_token
        self.pids = gateway_pids
        self.sockets: list[websockets.ClientConnection] = []

    def rss(self) -> int:
        return sum(rss_kib(pid) for pid in self.pids)

    async def tasks(self) -> int | None:
        """asyncio tasks alive in the replicas, summed (None without their addresses)."""
        if not self.gateway_urls:
            return None
        total = 0
        headers = {"Authorization": f"Bearer {self.access_token}"}  # the owner may read /metrics
        async with httpx.AsyncClient(headers=headers, timeout=60) as http:
            for url in self.gateway_urls:
                text = (await http.get(f"{url}/metrics")).text
                found = re.search(r"^aiclone_gateway_event_loop_tasks (\S+)$", text, re.MULTILINE)
                if found is None:
                    return None
                total += int(float(found.group(1)))
        return total

    async def _tickets(self, http: httpx.AsyncClient, count: int) -> list[str]:
        async def one() -> str:
            response = await http.post("/api/chat/ticket")
            response.raise_for_status()
            return response.json()["ticket"]

        tickets: list[str] = []
        for start in range(0, count, CONNECT_CONCURRENCY):
            batch = min(CONNECT_CONCURRENCY, count - start)
            tickets += await asyncio.gather(*(one() for _ in range(batch)))
        return tickets

    async def _open(self, ticket: str, gate: asyncio.Semaphore) -> None:
        async with gate:
            ws = await websockets.connect(
                f"{self.ws_url}/ws/chat?ticket={ticket}",
                origin=Origin(self.base_url),
                ssl=self.ca,
                open_timeout=60,
                ping_interval=None,  # idle: no client pings either; the gateway sends none to chat sockets
                max_queue=4,
            )
            frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if frame.get("type") != "status":
                raise RuntimeError(f"the first frame of an idle socket was {frame}")
            self.sockets.append(ws)

    async def measure(self, steps: list[int]) -> tuple[int, list[IdleStep]]:
        """Open sockets up to each count in ``steps`` (ascending); RSS before any and at each step."""
        headers = {"Authorization": f"Bearer {self.access_token}"}
        limits = httpx.Limits(
            max_connections=CONNECT_CONCURRENCY, max_keepalive_connections=CONNECT_CONCURRENCY
        )
        await asyncio.sleep(SETTLE_S)
        baseline = self.rss()
        baseline_tasks = await self.tasks()
        results = []
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        async with httpx.AsyncClient(
            base_url=self.base_url, verify=self.ca, headers=headers, limits=limits, timeout=60
        ) as http:
            for target in steps:
                started = time.perf_counter()
                remaining = target - len(self.sockets)
                while remaining > 0:
                    tickets = await self._tickets(http, min(remaining, TICKET_SLICE))
                    await asyncio.gather(*(self._open(ticket, gate) for ticket in tickets))
                    remaining = target - len(self.sockets)
                opened = time.perf_counter() - started
                await asyncio.sleep(SETTLE_S)
                rss = self.rss()
                tasks = await self.tasks()
                per_socket = None
                if tasks is not None and baseline_tasks is not None:
                    per_socket = (tasks - baseline_tasks) / len(self.sockets)
                results.append(
                    IdleStep(len(self.sockets), rss, (rss - baseline) / len(self.sockets), opened, per_socket)
                )
        return baseline, results

    async def still_open(self) -> int:
        """How many of the sockets the gateway has kept open (a closed one has its close frame)."""
        return sum(1 for ws in self.sockets if ws.close_code is None)

    async def close(self) -> None:
        sockets, self.sockets = self.sockets, []
        for start in range(0, len(sockets), 500):
            await asyncio.gather(*(ws.close() for ws in sockets[start : start + 500]), return_exceptions=True)
