"""Prometheus metrics of one agent process (a registry per app, so tests can run several)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_RATE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aiclone_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.generations = Counter(
            "aiclone_generations",
            "Finished generations by channel and finish reason",
            ["channel", "finish_reason"],
            registry=self.registry,
        )
        self.generated_tokens = Counter(
            "aiclone_generated_tokens", "Tokens generated", ["channel"], registry=self.registry
        )
        self.time_to_first_token = Histogram(
            "aiclone_time_to_first_token_seconds",
            "Time from request to first generated token",
            ["channel"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens_per_second = Histogram(
            "aiclone_decode_tokens_per_second",
            "Decode speed after the first token",
            ["channel"],
            buckets=_RATE_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "aiclone_generations_in_flight", "Generations running or queued", registry=self.registry
        )
        self.network_mode = Gauge(
            "aiclone_network_mode", "1 for the current network mode", ["mode"], registry=self.registry
        )
        self.link_requests = Counter(
            "aiclone_agent_link_requests",
            "Requests the gateway sent, per path",
            ["path"],
            registry=self.registry,
        )
        self.path_up = Gauge(
            "aiclone_agent_path_up",
            "1 while the path to the gateway is trusted",
            ["path"],
            registry=self.registry,
        )
        self.path_rtt = Gauge(
            "aiclone_agent_path_rtt_seconds",
            "Smoothed probe round trip per path",
            ["path"],
            registry=self.registry,
        )

        # (monotonic time, seconds) of recent first tokens: the overview's time-to-first-token p50
        self.recent_first_tokens: deque[tuple[float, float]] = deque(maxlen=512)
        self._network_mode = "offline"
        self.network_mode.labels(self._network_mode).set(1)

    def set_network_mode(self, mode: str) -> None:
        """1 for ``mode``, 0 for the one it replaces (``NetworkPaths``'s ``on_mode``)."""
        self.network_mode.labels(self._network_mode).set(0)
        self.network_mode.labels(mode).set(1)
        self._network_mode = mode

    def observe_first_token(self, channel: str, seconds: float) -> None:
        self.time_to_first_token.labels(channel).observe(seconds)
        self.recent_first_tokens.append((time.monotonic(), seconds))

    def generated_tokens_total(self) -> float:
        """Tokens of finished generations, all channels (for engines without live counters)."""
        return sum(
            sample.value
            for metric in self.generated_tokens.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )

    def watch_engine(self, stats: Callable[[], dict | None]) -> None:
        """Export the engine's live numbers (``EngineClient.stats``) at every scrape."""
        self.registry.register(_EngineCollector(stats))


class _EngineCollector(Collector):
    def __init__(self, stats: Callable[[], dict | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        if not stats:
            return
        for name, key, help_text in (
            ("aiclone_engine_running_sequences", "running", "Requests decoding or prefilling in the batch"),
            (
                "aiclone_engine_prefilling_sequences",
                "prefilling",
                "Running requests still reading their prompt",
            ),
            ("aiclone_engine_last_batch_tokens", "last_batch_tokens", "Tokens in the last llama_decode step"),
            ("aiclone_engine_last_batch_sequences", "last_batch_sequences", "Sequences in the last step"),
            ("aiclone_engine_kv_cells_used", "kv_cells_used", "KV cache cells holding tokens"),
            ("aiclone_engine_kv_cells_total", "kv_cells_total", "KV cache cells in the context (n_ctx)"),
            (
                "aiclone_engine_cached_sequences",
                "cached_sequences",
                "Finished conversations kept in RAM for their next turn",
            ),
            ("aiclone_engine_cache_ram_bytes", "cache_ram_bytes", "RAM the kept conversations' KV cells take"),
            ("aiclone_engine_parallel", "parallel", "Sequences decoded together at most"),
        ):
            yield GaugeMetricFamily(name, help_text, value=stats[key])
        waiting = GaugeMetricFamily(
            "aiclone_engine_queue_depth", "Requests waiting for a slot", labels=["channel"]
        )
        for channel, n in sorted(stats["waiting_by_channel"].items()):
            waiting.add_metric([channel], n)
        yield waiting
        admitted = CounterMetricFamily(
            "aiclone_engine_admitted", "Requests admitted to a slot", labels=["channel"]
        )
        for channel, n in sorted(stats["admitted_by_channel"].items()):
            admitted.add_metric([channel], n)
        yield admitted
        waits = CounterMetricFamily(
            "aiclone_engine_queue_wait_seconds", "Time requests waited for a slot", labels=["channel"]
        )
        for channel, wait in sorted(stats["wait_seconds_by_channel"].items()):
            waits.add_metric([channel], wait["sum"])
        yield waits
        yield CounterMetricFamily(
            "aiclone_engine_rejected", "Requests refused (queue full: 503)", value=stats["rejected"]
        )
        yield CounterMetricFamily("aiclone_engine_steps", "llama_decode steps", value=stats["steps"])
        if "preemptions" in stats:  # llama.cpp's decode loop; TensorRT-LLM schedules on its own
            yield CounterMetricFamily(
                "aiclone_engine_preemptions",
                "Running sequences paused for a heavier channel's request",
                value=stats["preemptions"],
            )
            yield CounterMetricFamily(
                "aiclone_engine_priority_prompt_steps",
                "Steps that ended a heavier channel's prompt without decoding lighter answers",
                value=stats["priority_prompt_steps"],
            )
            yield CounterMetricFamily(
                "aiclone_engine_interrupted_steps",
                "Steps stopped in flight for the owner's request and planned again",
                value=stats["interrupted_steps"],
            )
            lane = stats["prompt_lane"]
            for name, key, help_text in (
                ("aiclone_engine_prompt_lane_handoffs", "handoffs", "Long prompts given to the prompt lane"),
                ("aiclone_engine_prompt_lane_reads", "reads", "Prompts the prompt lane read to their end"),
                ("aiclone_engine_prompt_lane_tokens", "tokens", "Prompt tokens the prompt lane computed"),
                (
                    "aiclone_engine_prompt_lane_taken_back",
                    "taken_back",
                    "Prompts the lane did not finish (the rest read in the main context)",
                ),
            ):
                yield CounterMetricFamily(name, help_text, value=lane[key])
        yield CounterMetricFamily(
            "aiclone_engine_prompt_tokens_computed",
            "Prompt tokens prefilled",
            value=stats["prompt_tokens_computed"],
        )
        cache = stats["prefix_cache"]
        for name, key, help_text in (
            (
                "aiclone_engine_prefix_cache_hit_tokens",
                "hit_tokens",
                "Prompt tokens reused from the KV cache",
            ),
            (
                "aiclone_engine_prefix_cache_miss_tokens",
                "miss_tokens",
                "Prompt tokens that had to be computed",
            ),
            ("aiclone_engine_prefix_cache_hits", "hits", "Requests that reused a cached prefix"),
            ("aiclone_engine_prefix_cache_misses", "misses", "Requests that found no cached prefix"),
            (
                "aiclone_engine_prefix_cache_restored",
                "restored",
                "Kept conversations whose KV cells were copied back from RAM",
            ),
            (
                "aiclone_engine_prefix_cache_restore_failures",
                "restore_failures",
                "Kept conversations that found no room in one piece and were computed again",
            ),
            (
                "aiclone_engine_prefix_cache_dropped",
                "dropped",
                "Kept conversations dropped to stay within model.cache_ram_mib",
            ),
        ):
            yield CounterMetricFamily(name, help_text, value=cache[key])
