"""What the gateway shows to whom, and tables that must not grow without bound (real process).

Found before the fixes: ``/metrics`` answered anyone on the internet; a user could make API keys
without end.
"""

from __future__ import annotations

import httpx

from tests.support.fixtures.gateways import METRICS_HEADERS, ChatUser


async def test_metrics_need_the_scraper_token_or_the_owner(users: list[ChatUser], owner: ChatUser):
    user = users[0]
    async with httpx.AsyncClient(base_url=user.gateway.url, timeout=30) as http:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Bearer"},
            {"Authorization": "Basic b3duZXI6b3duZXI="},
        ):
            refused = await http.get("/metrics", headers=headers)
            assert refused.status_code == 401 and "aiclone_gateway_" not in refused.text
        assert (await http.get("/metrics", headers=METRICS_HEADERS)).status_code == 200
    assert (await user.http.get("/metrics")).status_code == 401  # a plain user's access token
    answered = await owner.http.get("/metrics")
    assert answered.status_code == 200 and "aiclone_gateway_linked_agents" in answered.text


async def test_api_keys_per_user_are_capped_and_revoked_ones_dropped(users: list[ChatUser]):
    user = users[1]
    made = []
    while True:
        response = await user.http.post("/api/keys", json={"name": f"k{len(made)}"})
        if response.status_code != 201:
            break
        made.append(response.json()["id"])
        assert len(made) <= 1000, "no cap on API keys"
    assert response.status_code == 409 and response.json()["error"]["code"] == "too_many_api_keys"
    assert "revoke one first" in response.json()["error"]["message"]
    assert len((await user.http.get("/api/keys")).json()) == len(made)
    assert (await user.http.delete(f"/api/keys/{made[0]}")).status_code == 204
    assert (await user.http.post("/api/keys", json={"name": "after revoking"})).status_code == 201
