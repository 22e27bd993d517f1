"""Refresh-token rotation (RFC 9700 section 4.14.2) against a real gateway process.

Found before the fix: with the chat open in two tabs, both refresh with the same token at the
same moment; the second counted as reuse, the family was revoked and the user was signed out
everywhere. Now a token presented again within a short grace window, while its successor is
unused, receives that same successor.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.fixtures.gateways import ChatUser

# Concurrent refreshes of one family are a database race (row locks differ): both databases.
pytestmark = pytest.mark.databases


async def _refresh(user: ChatUser, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=user.gateway.url, timeout=30) as http:
        return await http.post("/api/auth/refresh", json={"refresh_token": token})


async def _signed_in(user: ChatUser, access_token: str) -> bool:
    async with httpx.AsyncClient(base_url=user.gateway.url, timeout=30) as http:
        response = await http.get("/api/users/me", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code == 200


async def test_rotation_gives_a_new_refresh_token_each_time(users: list[ChatUser]):
    user = users[0]
    seen = [user.tokens["refresh_token"]]
    for _ in range(3):
        response = await _refresh(user, seen[-1])
        assert response.status_code == 200, response.text
        assert await _signed_in(user, response.json()["access_token"])
        seen.append(response.json()["refresh_token"])
    assert len(set(seen)) == len(seen)


async def test_reuse_after_rotation_revokes_the_family(users: list[ChatUser]):
    user = users[0]
    stolen = user.tokens["refresh_token"]
    second = (await _refresh(user, stolen)).json()["refresh_token"]
    third = (await _refresh(user, second)).json()["refresh_token"]
    replay = await _refresh(user, stolen)  # the thief, after the owner moved on
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "token_reused"
    owner_next = await _refresh(user, third)
    assert owner_next.status_code == 401 and owner_next.json()["error"]["code"] == "token_revoked"


async def test_two_tabs_refreshing_at_the_same_moment_both_stay_signed_in(users: list[ChatUser]):
    user = users[1]
    token = user.tokens["refresh_token"]
    for _ in range(3):  # a few rounds: each one is a fresh race
        tab_a, tab_b = await asyncio.gather(_refresh(user, token), _refresh(user, token))
        assert tab_a.status_code == 200, tab_a.text
        assert tab_b.status_code == 200, tab_b.text
        assert tab_a.json()["refresh_token"] == tab_b.json()["refresh_token"]
        assert await _signed_in(user, tab_a.json()["access_token"])
        assert await _signed_in(user, tab_b.json()["access_token"])
        token = tab_a.json()["refresh_token"]
    # the shared successor keeps working: the login was not revoked
    assert (await _refresh(user, token)).status_code == 200


async def test_many_tabs_at_once_make_one_successor(users: list[ChatUser]):
    user = users[1]
    token = user.tokens["refresh_token"]
    answers = await asyncio.gather(*(_refresh(user, token) for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert len({a.json()["refresh_token"] for a in answers}) == 1


async def test_replay_of_a_spent_token_after_its_successor_was_used_is_reuse(users: list[ChatUser]):
    """The grace window is for a second tab, not for a thief who comes after the owner refreshed on."""
    user = users[0]
    first = user.tokens["refresh_token"]
    second = (await _refresh(user, first)).json()["refresh_token"]
    assert (await _refresh(user, second)).status_code == 200
    late = await _refresh(user, first)
    assert late.status_code == 401 and late.json()["error"]["code"] == "token_reused"


async def test_refresh_after_logout_is_refused(users: list[ChatUser]):
    user = users[0]
    token = user.tokens["refresh_token"]
    successor = (await _refresh(user, token)).json()["refresh_token"]
    assert (await user.http.post("/api/auth/logout", json={"refresh_token": successor})).status_code == 204
    for spent in (successor, token):
        after = await _refresh(user, spent)
        assert after.status_code == 401 and after.json()["error"]["code"] == "token_revoked"


async def test_refresh_after_a_password_change_is_refused_everywhere(users: list[ChatUser]):
    user = users[1]
    phone = user.tokens["refresh_token"]
    laptop = (await user.login())["refresh_token"]
    wrong = await user.http.post(
        "/api/auth/password", json={"current_password": "not it at all", "new_password": "new password 123"}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_password"
    assert (await _refresh(user, phone)).status_code == 200  # a wrong attempt changes nothing
    phone = (await user.login())["refresh_token"]
    changed = await user.http.post(
        "/api/auth/password", json={"current_password": user.password, "new_password": "new password 123"}
    )
    assert changed.status_code == 204, changed.text
    for token in (phone, laptop):
        after = await _refresh(user, token)
        assert after.status_code == 401 and after.json()["error"]["code"] == "token_revoked"
    old = await user.http.post("/api/auth/login", json={"email": user.email, "password": user.password})
    assert old.status_code == 401
    new = await user.http.post("/api/auth/login", json={"email": user.email, "password": "new password 123"})
    assert new.status_code == 200
    assert (await _refresh(user, new.json()["refresh_token"])).status_code == 200
