"""Who the client is: X-Forwarded-For counts only on connections from a trusted proxy
(AICLONE_GATEWAY_TRUSTED_PROXIES), so a client talking to the gateway directly cannot choose its
own rate-limit key."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from aiclone_gateway.core.config import Settings
from tests.support.fixtures.gateways import GatewayProcess


async def _spoofed_logins(gateway: GatewayProcess, count: int) -> list[int]:
    codes = []
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        for attempt in range(count):
            response = await http.post(
                "/api/auth/refresh",
                json={"refresh_token": "not-a-token"},
                headers={"X-Forwarded-For": f"198.51.100.{attempt + 1}"},
            )
            codes.append(response.status_code)
    return codes


@pytest.mark.process
async def test_a_client_that_is_not_the_proxy_cannot_pick_its_rate_limit_key(tmp_path: Path):
    gateway = GatewayProcess(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        auth_rate_limit=3,
        trusted_proxies='["10.255.0.1"]',
    ).start(timeout=240)  # imports aiogram: slow on a loaded machine
    try:
        codes = await _spoofed_logins(gateway, 5)
    finally:
        gateway.stop()
    assert codes == [401, 401, 401, 429, 429]


def test_the_default_trusts_only_nginx_on_this_host():
    assert Settings(_env_file=None).trusted_proxies == ["127.0.0.1", "::1"]
    assert Settings(_env_file=None, trusted_proxies=["10.0.0.0/8"]).trusted_proxies == ["10.0.0.0/8"]
    with pytest.raises(ValueError, match="not an IP address or network"):
        Settings(_env_file=None, trusted_proxies=["nginx.local"])
