"""Every Redis key the gateway's replicas share, under one prefix (one deployment per prefix)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RedisKeys:
    prefix: str = "aiclone"

    @property
    def current_agent(self) -> str:
        """The most recently claimed agent's id (requests go to it)."""
        return f"{self.prefix}:agent:current"

    @property
    def agents(self) -> str:
        """The ids of every agent ever claimed (a set; each one's owner record says whether and
        where it is linked now)."""
        return f"{self.prefix}:agents"

    def owner(self, agent_id: str) -> str:
        return f"{self.prefix}:agent:{agent_id}:owner"

    def epoch(self, agent_id: str) -> str:
        return f"{self.prefix}:agent:{agent_id}:epoch"

    def alive(self, replica: str) -> str:
        return f"{self.prefix}:replica:{replica}:alive"

    def requests(self, replica: str) -> str:
        """The stream of requests other replicas relay to ``replica``'s agent link."""
        return f"{self.prefix}:replica:{replica}:requests"

    def replies(self, request_id: str) -> str:
        """One relayed request's reply frames, in order, ending with end or error."""
        return f"{self.prefix}:reply:{request_id}"

    def credits(self, request_id: str) -> str:
        """How far the replica that relayed ``request_id`` has read its reply stream (a stream of
        grants, the owner's flow control: it writes at most a window ahead of the reader)."""
        return f"{self.prefix}:credit:{request_id}"

    def online(self, replica: str) -> str:
        """The ids of the users with a chat open on ``replica`` (a set), expiring with its liveness."""
        return f"{self.prefix}:replica:{replica}:online"

    def stats(self, replica: str) -> str:
        """``replica``'s live numbers (users, sockets, requests), expiring with its liveness."""
        return f"{self.prefix}:replica:{replica}:stats"

    @property
    def user_events(self) -> str:
        """Frames for users whose sockets may be on any replica (queued answers, account ends)."""
        return f"{self.prefix}:user-events"

    def ticket(self, ticket: str) -> str:
        return f"{self.prefix}:ticket:{ticket}"

    def rate(self, name: str, key: str) -> str:
        return f"{self.prefix}:rate:{name}:{key}"

    def active(self, user_id: str) -> str:
        return f"{self.prefix}:active:{user_id}"
