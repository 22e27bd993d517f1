"""What the agent tells its gateway about its load and what it serves (the ``agent_load`` frame).

A gateway with several agents of one clone sends each new conversation to the agent with the most
free capacity, so it needs each agent's engine numbers (running, waiting, parallel) as they
change, and the owner's page compares what each agent serves (model, adapter, persona,
documents) to warn when two of them would answer differently. ``AgentLoadReport.report`` builds
the frame from what the agent already tracks; the relay link's session sends it right after
hello and whenever it changes, at most every ``CHECK_INTERVAL_S`` (and every
``REFRESH_INTERVAL_S`` anyway, for the tokens per second).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from aiclone_agent.core.config import ConfigStore
from aiclone_agent.engine.base import EngineClient
from aiclone_wire import AgentFingerprint, AgentLoad

CHECK_INTERVAL_S = 0.25
REFRESH_INTERVAL_S = 5.0
# The gateway's hello lists this when it takes agent_load frames (an older one would log each
# as a bad frame).
LOAD_CAPABILITY = "agent_load"


def _short_hash(value: object) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _count(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


class AgentLoadReport:
    """Builds ``agent_load`` frames. ``model`` names the base model (``OpenAIServingChat``'s id),
    ``adapter`` the adapter in use ("" when none), ``documents`` the knowledge base's document ids."""

    def __init__(
        self,
        engine: EngineClient,
        config: ConfigStore,
        model: Callable[[], str],
        adapter: Callable[[], str],
        documents: Callable[[], list[str]],
    ) -> None:
        self.engine = engine
        self.config = config
        self.model = model
        self.adapter = adapter
        self.documents = documents
        self._last_at = time.monotonic()
        self._last_tokens = self._decoded()

    def _decoded(self) -> int:
        stats = self.engine.stats() or {}
        return _count(stats.get("decoded_tokens"))

    def fingerprint(self) -> AgentFingerprint:
        current = self.config.current
        persona = {"system_prompt": current.clone.system_prompt, "channels": current.channels.model_dump()}
        return AgentFingerprint(
            model=self.model(),
            adapter=self.adapter(),
            persona=_short_hash(persona),
            documents=_short_hash(sorted(self.documents())),
        )

    def report(self) -> AgentLoad:
        stats = self.engine.stats() or {}
        now, tokens = time.monotonic(), _count(stats.get("decoded_tokens"))
        rate = max(0, tokens - self._last_tokens) / max(now - self._last_at, 1e-6)
        self._last_at, self._last_tokens = now, tokens
        return AgentLoad(
            running=_count(stats.get("running")),
            waiting=_count(stats.get("waiting")),
            parallel=max(1, _count(stats.get("parallel"), self.config.current.model.parallel)),
            tokens_per_s=round(rate, 2),
            fingerprint=self.fingerprint(),
        )


def changed(before: AgentLoad | None, after: AgentLoad) -> bool:
    """Whether ``after`` says something the gateway routes on that ``before`` did not."""
    return before is None or (before.running, before.waiting, before.parallel, before.fingerprint) != (
        after.running,
        after.waiting,
        after.parallel,
        after.fingerprint,
    )
