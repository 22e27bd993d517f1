"""Tickets, rate limits and concurrency caps shared by replicas through Redis: what one replica
counts, the other sees (so a client that lands on another replica gains nothing)."""

from __future__ import annotations

import asyncio

import pytest

from aiclone_gateway.cluster.shared_limits import RedisConcurrency, RedisRateLimiter, RedisTicketBook


@pytest.mark.process
async def test_a_ticket_issued_on_one_replica_opens_the_chat_on_another_once(redis, second_client, keys):
    replica_a, replica_b = RedisTicketBook(redis, keys, 30), RedisTicketBook(second_client, keys, 30)
    ticket = await replica_a.issue("user-1")
    assert len(ticket) >= 40
    assert await replica_b.redeem(ticket) == "user-1"
    assert await replica_a.redeem(ticket) is None  # single use, whichever replica sees it next
    assert await replica_b.redeem("made-up") is None


@pytest.mark.process
async def test_tickets_expire(redis, keys):
    book = RedisTicketBook(redis, keys, 0.05)
    ticket = await book.issue("user-1")
    await asyncio.sleep(0.1)
    assert await book.redeem(ticket) is None


@pytest.mark.process
async def test_the_rate_limit_counts_hits_on_every_replica_in_one_window(redis, second_client, keys):
    replica_a = RedisRateLimiter(redis, keys, "auth", limit=3, window_s=0.5)
    replica_b = RedisRateLimiter(second_client, keys, "auth", limit=3, window_s=0.5)
    assert await replica_a.check("1.2.3.4") is None
    assert await replica_b.check("1.2.3.4") is None
    assert await replica_a.check("1.2.3.4") is None
    wait = await replica_b.check("1.2.3.4")  # the fourth hit, on the other replica: refused
    assert wait is not None and 0 < wait <= 0.5
    assert await replica_a.check("5.6.7.8") is None  # another client is not affected
    await asyncio.sleep(wait + 0.05)
    assert await replica_b.check("1.2.3.4") is None


@pytest.mark.process
async def test_a_users_answers_in_progress_are_capped_across_replicas(redis, second_client, keys):
    replica_a, replica_b = (
        RedisConcurrency(redis, keys, most=2),
        RedisConcurrency(second_client, keys, most=2),
    )
    assert await replica_a.acquire("u") and await replica_b.acquire("u")
    assert not await replica_a.acquire("u") and not await replica_b.acquire("u")
    assert await replica_b.acquire("v")
    await replica_a.release("u")
    assert await replica_b.acquire("u")
