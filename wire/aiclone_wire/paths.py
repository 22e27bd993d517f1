"""Which link paths (relay, direct) are trusted, which one a request takes, and the network mode.

Pure decision logic shared by the gateway and the agent; every method takes the time (``now``,
monotonic seconds) so tests drive it with a fake clock. Modelled on Tailscale's magicsock: a
path is probed every few seconds while it carries traffic and less often when idle, it is
trusted only until about two probes are missed after its last answer, and traffic moves to the
other path only when that one is clearly faster (hysteresis), so two paths of similar speed do
not flap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

PathName = Literal["relay", "direct"]
NetworkMode = Literal["direct", "relay", "hybrid", "offline"]
PATH_NAMES: tuple[PathName, ...] = ("relay", "direct")


@dataclass(frozen=True)
class ProbePolicy:
    active_interval_s: float = 2.0
    idle_interval_s: float = 5.0
    # A path stays trusted this many probe intervals after it was last heard (+ half one of slack).
    missed_probes: float = 2.0
    # Switch to the other path only when it is faster by both this factor and this many seconds.
    switch_ratio: float = 0.75
    switch_min_s: float = 0.002

    def interval(self, active: bool) -> float:
        return self.active_interval_s if active else self.idle_interval_s

    def trust_s(self, active: bool) -> float:
        return (self.missed_probes + 0.5) * self.interval(active)


@dataclass
class PathHealth:
    """One path's state: connected or not, when it last answered, its round trip."""

    name: PathName
    connected: bool = False
    last_heard: float | None = None
    rtt_s: float | None = None
    # wall-clock time the path became up (for status), None while down
    since: float | None = None
    active: bool = False

    def up(self, now: float, wall: float | None = None) -> None:
        self.connected = True
        self.last_heard = now
        self.rtt_s = None
        self.since = time.time() if wall is None else wall

    def down(self) -> None:
        self.connected = False
        self.last_heard = None
        self.rtt_s = None
        self.since = None

    def heard(self, now: float) -> None:
        if self.connected:
            self.last_heard = now

    def pong(self, now: float, rtt_s: float) -> None:
        """A probe's answer: the round trip, smoothed (1/4 weight for the newest sample)."""
        if not self.connected:
            return
        self.last_heard = now
        rtt_s = max(0.0, rtt_s)
        self.rtt_s = rtt_s if self.rtt_s is None else 0.75 * self.rtt_s + 0.25 * rtt_s

    def trusted(self, now: float, policy: ProbePolicy) -> bool:
        if not self.connected or self.last_heard is None:
            return False
        return now - self.last_heard <= policy.trust_s(self.active)

    def describe(self, now: float, policy: ProbePolicy) -> dict:
        return {
            "up": self.trusted(now, policy),
            "rtt_ms": None if self.rtt_s is None else round(self.rtt_s * 1000, 3),
            "since": self.since,
        }


@dataclass(frozen=True)
class Transition:
    before: NetworkMode
    after: NetworkMode
    reason: str


@dataclass
class PathBoard:
    """Both paths of one link and the choice between them."""

    policy: ProbePolicy = field(default_factory=ProbePolicy)
    paths: dict[PathName, PathHealth] = field(
        default_factory=lambda: {name: PathHealth(name) for name in PATH_NAMES}
    )
    preferred: PathName | None = None
    mode: NetworkMode = "offline"

    def trusted(self, now: float) -> list[PathName]:
        return [name for name in PATH_NAMES if self.paths[name].trusted(now, self.policy)]

    def current_mode(self, now: float) -> NetworkMode:
        trusted = self.trusted(now)
        if len(trusted) == 2:
            return "hybrid"
        return trusted[0] if trusted else "offline"

    def choose(self, now: float) -> PathName | None:
        """The path the next request takes: the trusted one with the lower RTT, with hysteresis."""
        trusted = self.trusted(now)
        if not trusted:
            self.preferred = None
            return None
        preferred = self.preferred
        if preferred is None or preferred not in trusted:
            # the preferred path is gone (or none yet): the fastest trusted path, relay on a tie
            fastest = min(trusted, key=self._rtt)
            self.preferred = fastest
            return fastest
        other = next((name for name in trusted if name != preferred), None)
        if other is not None:
            current, challenger = self._rtt(preferred), self._rtt(other)
            if (
                challenger <= current * self.policy.switch_ratio
                and current - challenger >= self.policy.switch_min_s
            ):
                self.preferred = other
        return self.preferred

    def alternative(self, now: float, failed: PathName) -> PathName | None:
        """The other trusted path for a request whose path failed before its first chunk."""
        return next((name for name in self.trusted(now) if name != failed), None)

    def evaluate(self, now: float) -> Transition | None:
        """The mode now; a ``Transition`` (with its reason) when it changed since the last call."""
        after = self.current_mode(now)
        if after == self.mode:
            return None
        before, self.mode = self.mode, after
        return Transition(before, after, self._reason(before, after, now))

    def _reason(self, before: NetworkMode, after: NetworkMode, now: float) -> str:
        reasons = []
        for name in PATH_NAMES:
            was = before in (name, "hybrid")
            health = self.paths[name]
            is_ = health.trusted(now, self.policy)
            if was and not is_:
                if not health.connected:
                    reasons.append(f"{name} path closed")
                else:
                    silent = now - (health.last_heard or now)
                    reasons.append(f"{name} path silent for {silent:.1f} s (missed probes)")
            elif is_ and not was:
                reasons.append(f"{name} path up")
        return "; ".join(reasons) or "unchanged paths"

    def _rtt(self, name: PathName) -> float:
        rtt = self.paths[name].rtt_s
        return float("inf") if rtt is None else rtt

    def describe(self, now: float) -> dict:
        return {name: self.paths[name].describe(now, self.policy) for name in PATH_NAMES}
