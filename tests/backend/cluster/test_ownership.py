"""Which replica holds the agent: claims raise the fencing epoch, a replaced holder can neither
renew nor release, and a dead holder's record expires."""

from __future__ import annotations

import asyncio

import pytest

from aiclone_gateway.cluster.ownership import AgentOwnership

HELLO = {"clone_name": "Ada"}
NETWORK = {"network_mode": "relay"}


@pytest.mark.process
async def test_the_newest_claim_wins_and_fences_off_the_old_holder(redis, second_client, keys):
    replica_a = AgentOwnership(redis, keys, "a", ttl_s=5)
    replica_b = AgentOwnership(second_client, keys, "b", ttl_s=5)
    held_by_a = await replica_a.claim("agent-1", HELLO, NETWORK)
    current = await replica_b.current()
    assert current is not None and (current.replica, current.epoch) == ("a", held_by_a.epoch)
    assert await replica_a.renew(held_by_a)

    held_by_b = await replica_b.claim("agent-1", HELLO, {"network_mode": "hybrid"})  # the agent relinked
    assert held_by_b.epoch == held_by_a.epoch + 1
    assert not await replica_a.renew(held_by_a)  # A may not take it back...
    assert not await replica_a.release(held_by_a)  # ...nor delete B's record
    current = await replica_a.current()
    assert current is not None and current.replica == "b" and current.network["network_mode"] == "hybrid"

    assert await replica_b.release(held_by_b)
    assert await replica_a.current() is None


@pytest.mark.process
async def test_the_record_other_replicas_read_is_the_hello_as_claimed(redis, second_client, keys):
    """Empty lists stay lists (a Lua cjson round trip made them objects, and the other replicas'
    status page failed on the hello until the first renewal)."""
    hello = {"clone_name": "Ada", "capabilities": [], "models": [], "jwks": {"keys": []}}
    await AgentOwnership(redis, keys, "a", ttl_s=5).claim("agent-1", hello, NETWORK)
    current = await AgentOwnership(second_client, keys, "b", ttl_s=5).current()
    assert current is not None and current.hello == hello and current.epoch == 1


@pytest.mark.process
async def test_a_holder_that_stops_renewing_loses_the_agent(redis, keys):
    ownership = AgentOwnership(redis, keys, "a", ttl_s=0.2)
    await ownership.claim("agent-1", HELLO, NETWORK)
    assert await ownership.current() is not None
    async with asyncio.timeout(10):  # its record lapses on Redis's clock (TTL 0.2 s), unrenewed
        while await ownership.current() is not None:
            await asyncio.sleep(0.05)
