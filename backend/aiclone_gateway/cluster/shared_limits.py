"""The per-process chat tickets and rate limits, kept in Redis so every replica sees the same.

A ticket issued by one replica opens ``/ws/chat`` on any other, once (``GETDEL``). A client's
sliding window is a sorted set of hit times, checked and recorded in one script with Redis's
own clock, so replicas with skewed clocks still count one window. A user's answers in progress
are one counter across replicas (a crashed replica's increments expire with the key).
"""

from __future__ import annotations

import secrets

from redis.asyncio import Redis

from aiclone_gateway.cluster.keys import RedisKeys

# KEYS: the window. ARGV: limit, window ms, member. Returns -1 when allowed, else ms to wait.
_SLIDE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now_ms)
end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return -1
"""
# KEYS: the counter. ARGV: most, ttl ms. 1: taken, 0: at the limit.
_TAKE = """
local held = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if held > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]); return 0 end
return 1
"""


class RedisTicketBook:
    def __init__(self, redis: Redis, keys: RedisKeys, ttl_s: float) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl_s = ttl_s

    async def issue(self, user_id: str) -> str:
        ticket = secrets.token_urlsafe(32)
        await self.redis.set(self.keys.ticket(ticket), user_id, px=max(1, int(self.ttl_s * 1000)))
        return ticket

    async def redeem(self, ticket: str) -> str | None:
        user_id = await self.redis.getdel(self.keys.ticket(ticket))
        return str(user_id) if user_id is not None else None


class RedisRateLimiter:
    def __init__(self, redis: Redis, keys: RedisKeys, name: str, limit: int, window_s: float) -> None:
        self.redis = redis
        self.keys = keys
        self.name = name
        self.limit = limit
        self.window_ms = max(1, int(window_s * 1000))
        self._slide = redis.register_script(_SLIDE)

    async def check(self, key: str) -> float | None:
        wait_ms = await self._slide(
            keys=[self.keys.rate(self.name, key)],
            args=[self.limit, self.window_ms, secrets.token_hex(8)],
        )
        return None if int(wait_ms) < 0 else int(wait_ms) / 1000


class RedisConcurrency:
    """At most ``most`` answers in progress per user, counted across replicas."""

    def __init__(self, redis: Redis, keys: RedisKeys, most: int, ttl_s: float = 600) -> None:
        self.redis = redis
        self.keys = keys
        self.most = most
        self.ttl_ms = int(ttl_s * 1000)
        self._take = redis.register_script(_TAKE)

    async def acquire(self, user_id: str) -> bool:
        return bool(await self._take(keys=[self.keys.active(user_id)], args=[self.most, self.ttl_ms]))

    async def release(self, user_id: str) -> None:
        await self.redis.decr(self.keys.active(user_id))
