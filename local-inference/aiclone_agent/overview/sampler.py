"""A ring buffer of overview samples, filled by a background task every ``interval_s``.

Each sample reads what the agent already tracks: the engine's decoded-token counter and scheduler
numbers (``EngineClient.stats``), the first-token times the chat service records, the network
board's paths and mode, the link's reconnects, and the latest ``GatewayStats`` frame.
"""

from __future__ import annotations

import asyncio
import logging
import math
import statistics
import time
from collections import deque

from aiclone_agent.core.metrics import AgentMetrics
from aiclone_agent.engine.base import EngineClient
from aiclone_agent.gateway.link import GatewayLink
from aiclone_agent.gateway.network import NetworkPaths
from aiclone_agent.overview.protocol import GatewayNumbers, OverviewResponse, OverviewSample, PathSample
from aiclone_wire import GatewayStats

log = logging.getLogger(__name__)
WINDOW_S = 3600.0
# A short interval (tests) keeps fewer minutes rather than a larger answer.
MAX_SAMPLES = 720
# Gateway numbers older than this many of its intervals are stale (a frame or two lost).
STALE_INTERVALS = 3
CURRENT_TTFT_REQUESTS = 20


class LatestGatewayStats:
    """The last ``GatewayStats`` frame the relay link received, and when (monotonic). Built before
    the link, which hands it each frame (``receive`` is its ``on_gateway_stats``); the sampler reads it."""

    def __init__(self) -> None:
        self.latest: tuple[float, GatewayStats] | None = None

    def receive(self, frame: GatewayStats) -> None:
        self.latest = (time.monotonic(), frame)


class OverviewSampler:
    def __init__(
        self,
        engine: EngineClient,
        metrics: AgentMetrics,
        network: NetworkPaths,
        link: GatewayLink,
        gateway_stats: LatestGatewayStats,
        interval_s: float,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.network = network
        self.link = link
        self.gateway_stats = gateway_stats
        self.interval_s = interval_s
        self.capacity = min(MAX_SAMPLES, math.ceil(WINDOW_S / interval_s))
        self.samples: deque[OverviewSample] = deque(maxlen=self.capacity)
        self._last_at = time.monotonic()
        self._last_tokens = self._tokens()
        self._task: asyncio.Task | None = None

    def sample(self) -> OverviewSample:
        """Take one sample into the buffer."""
        now = time.monotonic()
        tokens = self._tokens()
        recent = [s for at, s in self.metrics.recent_first_tokens if at > self._last_at]
        sample = self._measure(now, (tokens - self._last_tokens) / max(now - self._last_at, 1e-6), recent)
        self._last_at, self._last_tokens = now, tokens
        self.samples.append(sample)
        return sample

    def overview(self) -> OverviewResponse:
        now = time.monotonic()
        elapsed = now - self._last_at
        if elapsed >= 0.2 or not self.samples:
            rate = (self._tokens() - self._last_tokens) / max(elapsed, 1e-6)
        else:  # just sampled: the sample's own rate is the better estimate
            rate = self.samples[-1].tokens_per_s
        recent = [s for _, s in list(self.metrics.recent_first_tokens)[-CURRENT_TTFT_REQUESTS:]]
        return OverviewResponse(
            interval_s=self.interval_s,
            window_s=self.capacity * self.interval_s,
            gateway_url=self.link.status.url,
            gateway_connected=self.link.status.connected,
            samples=list(self.samples),
            current=self._measure(now, rate, recent),
        )

    def _tokens(self) -> float:
        stats = self.engine.stats()
        decoded = _count(stats.get("decoded_tokens")) if stats else None
        if decoded is not None:
            return float(decoded)
        return self.metrics.generated_tokens_total()

    def _measure(self, now: float, tokens_per_s: float, first_tokens: list[float]) -> OverviewSample:
        stats = self.engine.stats() or {}
        cells, used = _count(stats.get("kv_cells_total")), _count(stats.get("kv_cells_used"))
        return OverviewSample(
            at=round(time.time(), 3),
            tokens_per_s=round(max(tokens_per_s, 0.0), 2),
            ttft_ms=round(statistics.median(first_tokens) * 1000, 1) if first_tokens else None,
            queue=_count(stats.get("waiting")),
            running=_count(stats.get("running")),
            kv_used=round(used / cells, 4) if cells and used is not None else None,
            mode=self.network.evaluate(),
            paths={
                name: PathSample(up=p["up"], rtt_ms=p["rtt_ms"])
                for name, p in self.network.describe().items()
            },
            reconnects=self.link.status.reconnects,
            gateway=self._gateway_numbers(now),
        )

    def _gateway_numbers(self, now: float) -> GatewayNumbers | None:
        latest = self.gateway_stats.latest
        if latest is None or not self.link.status.connected:
            return None
        received, frame = latest
        age = now - received
        if age > STALE_INTERVALS * frame.interval_s:
            return None
        return GatewayNumbers(
            users_online=frame.users_online,
            chat_sockets=frame.chat_sockets,
            requests_in_flight=frame.requests_in_flight,
            queued_questions=frame.queued_questions,
            errors=frame.errors,
            replicas=frame.replicas,
            age_s=round(age, 2),
        )

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="overview-sampler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                self.sample()
            except Exception:  # one bad reading loses one sample, never the page
                log.exception("overview sample failed")


def _count(value: object) -> int | None:
    """An engine counter (``EngineClient.stats`` values are loosely typed)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
