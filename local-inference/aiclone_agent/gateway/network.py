"""The agent's view of its two paths to the gateway and the network mode that follows.

The relay link and the direct listener each feed their ``PathHealth`` (connected, last heard,
RTT); ``NetworkPaths.watch`` re-evaluates the mode continuously and reports each transition, with
its reason, to the log and to ``on_mode`` (the runtime's mode and metrics).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiclone_agent.gateway.session import RunningRequests
from aiclone_wire.paths import NetworkMode, PathBoard, ProbePolicy

log = logging.getLogger(__name__)


class NetworkPaths:
    def __init__(
        self,
        on_mode: Callable[[NetworkMode], None],
        policy: ProbePolicy | None = None,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        self.board = PathBoard(policy=policy or ProbePolicy())
        self.running = RunningRequests(on_request)
        self.on_mode = on_mode
        self.last_reason: str | None = None
        self._task: asyncio.Task | None = None

    @property
    def relay(self):
        return self.board.paths["relay"]

    @property
    def direct(self):
        return self.board.paths["direct"]

    def evaluate(self) -> NetworkMode:
        change = self.board.evaluate(time.monotonic())
        if change is not None:
            self.last_reason = change.reason
            log.info("network mode %s -> %s: %s", change.before, change.after, change.reason)
            self.on_mode(change.after)
        return self.board.mode

    def describe(self) -> dict:
        return self.board.describe(time.monotonic())

    def start(self, interval_s: float = 0.5) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(interval_s), name="network-paths")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _watch(self, interval_s: float) -> None:
        while True:
            self.evaluate()
            await asyncio.sleep(interval_s)
