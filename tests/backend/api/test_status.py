"""Public probes of the gateway: /healthz, /api/status, /metrics, JWKS caching headers."""

from __future__ import annotations

import httpx

from tests.support.fixtures.gateways import METRICS_HEADERS, GatewayProcess


async def test_probes(fresh_gateway: GatewayProcess):
    async with httpx.AsyncClient(base_url=fresh_gateway.url) as http:
        health = await http.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok", "agent_online": False}
        status = (await http.get("/api/status")).json()
        assert status["agent_online"] is False and status["clone"] == {"name": None}
        metrics = await http.get("/metrics", headers=METRICS_HEADERS)
        assert metrics.headers["content-type"].startswith("text/plain")
        for name in ("linked_agents", "link_rtt_seconds", "relay_in_flight", "queue_length", "relayed_chunks_total"):
            assert f"aiclone_gateway_{name} " in metrics.text
        jwks = await http.get("/.well-known/jwks.json")
        assert "max-age" in jwks.headers["cache-control"]
