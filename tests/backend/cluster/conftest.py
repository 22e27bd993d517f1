"""A real Redis (started by scripts/test_services.sh) under a key prefix of each test's own."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from aiclone_gateway.cluster.keys import RedisKeys


def redis_url() -> str:
    url = os.environ.get("AICLONE_TEST_REDIS_URL", "")
    if not url:
        pytest.fail(
            'the scale-out tests need Redis: run eval "$(scripts/test_services.sh)" first '
            "(scripts/test.sh does), or set AICLONE_TEST_REDIS_URL"
        )
    return url


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url(), decode_responses=True)
    try:
        await client.ping()
    except OSError as exc:
        pytest.fail(
            f'cannot reach the test Redis at {redis_url()}: {exc}; run eval "$(scripts/test_services.sh)"'
        )
    yield client
    await client.aclose()


@pytest.fixture
async def keys(redis: Redis) -> AsyncIterator[RedisKeys]:
    """A prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield RedisKeys(prefix)
    stale = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if stale:
        await redis.delete(*stale)


@pytest.fixture
async def second_client() -> AsyncIterator[Redis]:
    """Another connection, as another replica holds."""
    client = Redis.from_url(redis_url(), decode_responses=True)
    yield client
    await client.aclose()
