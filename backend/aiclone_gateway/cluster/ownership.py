"""Which replica holds the agent's link: a Redis record with a TTL and a fencing epoch.

The replica an agent links to claims it: the agent's epoch counter goes up by one and the owner
record (replica id, epoch, the agent's hello and network state) is written with a short TTL. The
holder renews it every third of the TTL, but only while the record still carries its own epoch:
once another replica has claimed the agent (the agent relinked there), the old holder's renewals
and its release are refused, so a slow or paused replica can never take the agent back. A dead
holder stops renewing and its record expires: requests then find no owner (the agent is offline
until it relinks somewhere).

Several agents (PCs) may serve one clone: each has its own record, and the set of agent ids ever
claimed (``linked``) lets every replica find them all; an id whose record expired is skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from aiclone_gateway.cluster.keys import RedisKeys

# KEYS: owner, epoch, current, agents. ARGV: agent id, record without epoch (a JSON object), ttl ms.
# The epoch is spliced into the record's text rather than through cjson.decode/encode, which would
# turn the hello's empty lists into objects (`"capabilities": {}`) that the other replicas refuse.
_CLAIM = """
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], '{"epoch": ' .. epoch .. ', ' .. string.sub(ARGV[2], 2), 'PX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return epoch
"""
# KEYS: owner, epoch. ARGV: epoch, record (JSON, with epoch), ttl ms. 1: renewed, 0: fenced off.
_RENEW = """
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""
# KEYS: owner, epoch. ARGV: epoch. Deletes the record only while it is still this epoch's.
_RELEASE = """
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[1]) then return 0 end
return redis.call('DEL', KEYS[1])
"""


@dataclass(frozen=True)
class OwnerRecord:
    agent_id: str
    replica: str
    epoch: int
    hello: dict[str, Any]
    network: dict[str, Any]

    def dumps(self) -> str:
        return json.dumps(
            {
                "agent_id": self.agent_id,
                "replica": self.replica,
                "epoch": self.epoch,
                "hello": self.hello,
                "network": self.network,
            }
        )

    @classmethod
    def loads(cls, text: str) -> OwnerRecord:
        data = json.loads(text)
        return cls(data["agent_id"], data["replica"], int(data["epoch"]), data["hello"], data["network"])


class AgentOwnership:
    def __init__(self, redis: Redis, keys: RedisKeys, replica: str, ttl_s: float) -> None:
        self.redis = redis
        self.keys = keys
        self.replica = replica
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self._claim = redis.register_script(_CLAIM)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def claim(self, agent_id: str, hello: dict[str, Any], network: dict[str, Any]) -> OwnerRecord:
        """Take the agent for this replica (a newer epoch than any before) and make it current."""
        without_epoch = json.dumps(
            {"agent_id": agent_id, "replica": self.replica, "hello": hello, "network": network}
        )
        epoch = await self._claim(
            keys=[
                self.keys.owner(agent_id),
                self.keys.epoch(agent_id),
                self.keys.current_agent,
                self.keys.agents,
            ],
            args=[agent_id, without_epoch, self.ttl_ms],
        )
        return OwnerRecord(agent_id, self.replica, int(epoch), hello, network)

    async def renew(self, record: OwnerRecord) -> bool:
        """Extend the TTL (with fresh network state); False once another replica holds a newer epoch."""
        renewed = await self._renew(
            keys=[self.keys.owner(record.agent_id), self.keys.epoch(record.agent_id)],
            args=[record.epoch, record.dumps(), self.ttl_ms],
        )
        return bool(renewed)

    async def release(self, record: OwnerRecord) -> bool:
        """Drop the record if it is still this epoch's (a newer owner's is left alone)."""
        return bool(
            await self._release(
                keys=[self.keys.owner(record.agent_id), self.keys.epoch(record.agent_id)], args=[record.epoch]
            )
        )

    async def current(self) -> OwnerRecord | None:
        """The owner record of the current agent, or None when no replica holds it now."""
        agent_id = await self.redis.get(self.keys.current_agent)
        if agent_id is None:
            return None
        text = await self.redis.get(self.keys.owner(str(agent_id)))
        return OwnerRecord.loads(str(text)) if text is not None else None

    async def holders(self) -> list[OwnerRecord]:
        """The owner records of every agent some replica holds now (expired ones are skipped)."""
        agent_ids = sorted(str(agent_id) for agent_id in await self.redis.smembers(self.keys.agents))
        if not agent_ids:
            return []
        texts = await self.redis.mget([self.keys.owner(agent_id) for agent_id in agent_ids])
        return [OwnerRecord.loads(str(text)) for text in texts if text is not None]
