"""Counts HTTP requests by method, route template and status (pure ASGI, streaming-safe)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiclone_agent.core.metrics import AgentMetrics


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: AgentMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(scope["method"], path, str(status)).inc()
