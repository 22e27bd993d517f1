"""Prometheus metrics of one agent process (a registry per app, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_RATE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aiclone_http_requests", "HTTP requests served", ["method", "route", "status"],
            registry=self.registry,
        )
        self.generations = Counter(
            "aiclone_generations", "Finished generations by channel and finish reason",
            ["channel", "finish_reason"], registry=self.registry,
        )
        self.generated_tokens = Counter(
            "aiclone_generated_tokens", "Tokens generated", ["channel"], registry=self.registry
        )
        self.time_to_first_token = Histogram(
            "aiclone_time_to_first_token_seconds", "Time from request to first generated token",
            ["channel"], buckets=_LATENCY_BUCKETS, registry=self.registry,
        )
        self.tokens_per_second = Histogram(
            "aiclone_decode_tokens_per_second", "Decode speed after the first token",
            ["channel"], buckets=_RATE_BUCKETS, registry=self.registry,
        )
        self.in_flight = Gauge(
            "aiclone_generations_in_flight", "Generations running or queued", registry=self.registry
        )
        self.network_mode = Gauge(
            "aiclone_network_mode", "1 for the current network mode", ["mode"], registry=self.registry
        )
        self.link_requests = Counter(
            "aiclone_agent_link_requests", "Requests the gateway sent, per path", ["path"], registry=self.registry
        )
        self.path_up = Gauge(
            "aiclone_agent_path_up", "1 while the path to the gateway is trusted", ["path"], registry=self.registry
        )
        self.path_rtt = Gauge(
            "aiclone_agent_path_rtt_seconds", "Smoothed probe round trip per path", ["path"], registry=self.registry
        )
