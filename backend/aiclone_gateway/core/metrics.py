"""Prometheus metrics of one gateway process (a registry per app)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.linked_agents = Gauge(
            "aiclone_gateway_linked_agents", "Agents linked now", registry=self.registry
        )
        self.link_rtt = Gauge(
            "aiclone_gateway_link_rtt_seconds",
            "Last ping round trip of the agent link",
            registry=self.registry,
        )
        self.path_rtt = Gauge(
            "aiclone_gateway_path_rtt_seconds",
            "Last probe round trip per path to the agent (relay, direct)",
            ["path"],
            registry=self.registry,
        )
        self.path_up = Gauge(
            "aiclone_gateway_path_up",
            "1 while the path to the agent is trusted",
            ["path"],
            registry=self.registry,
        )
        self.network_mode = Gauge(
            "aiclone_gateway_network_mode", "1 for the current network mode", ["mode"], registry=self.registry
        )
        self.path_failovers = Counter(
            "aiclone_gateway_path_failovers",
            "Requests retried on the other path after theirs failed before the first chunk",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "aiclone_gateway_relay_in_flight",
            "Requests relayed to the agent and not finished",
            registry=self.registry,
        )
        self.relay_waiting_for_reader = Gauge(
            "aiclone_gateway_relay_waiting_for_reader",
            "Answers relayed for another replica that wait for its client to read (backpressure)",
            registry=self.registry,
        )
        self.telegram_in_progress = Gauge(
            "aiclone_gateway_telegram_in_progress",
            "Telegram work under way: webhook updates being answered and drains of stored questions",
            registry=self.registry,
        )
        self.queue_length = Gauge(
            "aiclone_gateway_queue_length",
            "Questions waiting for the agent (store-and-forward)",
            registry=self.registry,
        )
        # Read at scrape time: what an open chat socket costs (bench/load measures the memory)
        self.chat_sockets = Gauge(
            "aiclone_gateway_chat_sockets", "Chat WebSockets open on this process", registry=self.registry
        )
        self.chat_sockets_sending = Gauge(
            "aiclone_gateway_chat_sockets_sending",
            "Chat WebSockets with frames waiting to go out (each has a writer task and a queue)",
            registry=self.registry,
        )
        self.event_loop_tasks = Gauge(
            "aiclone_gateway_event_loop_tasks",
            "asyncio tasks alive in this process (an idle chat socket has one)",
            registry=self.registry,
        )
        self.relayed_chunks = Counter(
            "aiclone_gateway_relayed_chunks", "Answer chunks relayed from the agent", registry=self.registry
        )
        self.relayed_requests = Counter(
            "aiclone_gateway_relayed_requests",
            "Requests relayed, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.relay_errors = Counter(
            "aiclone_gateway_relay_errors",
            "Relayed requests that ended in an error, by code",
            ["code"],
            registry=self.registry,
        )
        # the same count as a number (the overview the agent shows reads it)
        self.relay_errors_total = 0
        self.auth_failures = Counter(
            "aiclone_gateway_auth_failures", "Refused credentials, by kind", ["kind"], registry=self.registry
        )

    def count_relay_error(self, code: str) -> None:
        self.relay_errors.labels(code).inc()
        self.relay_errors_total += 1
