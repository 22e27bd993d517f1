"""Which of the clone's agents takes a request, when several PCs serve one clone.

A new conversation goes to the agent with the most free capacity: the fewest requests busy per
sequence slot (``parallel``). How busy an agent is comes from two numbers that can never drift
below zero, unlike an inc/dec counter that misses a decrement (LiteLLM's least-busy router): the
requests this gateway has open to it now (the size of its links' live stream sets) and the
running + waiting the agent last reported (``agent_load``, which also counts what other
replicas sent it); the larger one counts, so this gateway's own requests are not counted twice
and a request sent a moment ago counts before the agent reports it. Equal agents are told apart
by round trip (a difference under ``rtt_tolerance_s`` is noise), then by whichever was chosen
least recently, so equal PCs share the work evenly even when requests come one at a time.

A conversation sticks to the agent that answered it (that agent's KV cache holds its history)
while the agent is among the healthy candidates and is not over capacity (requests already waiting
for its slots) while another agent has a free slot; otherwise the conversation moves and sticks to the new one (the request would wait for a
slot there, and an API opening that many clients share would pin them all to one agent). The stickiness map is bounded (least recently used conversations go).
The public chat names its conversations; a Telegram chat is one conversation; an OpenAI API
conversation is known by its opening (``conversation_of``), which every later turn repeats.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from aiclone_wire import TelegramMessage

log = logging.getLogger(__name__)
MAX_CONVERSATIONS = 10_000
RTT_TOLERANCE_S = 0.005


def conversation_of(work: dict[str, Any] | TelegramMessage, person: str | None) -> str | None:
    """The conversation a request continues, when its sender did not name one: a Telegram
    message's bot and chat, or an OpenAI body's asker with its messages up to the first user
    message (None: a body without messages)."""
    if isinstance(work, TelegramMessage):
        return f"telegram:{work.bot_id}:{work.chat_id}"
    messages = work.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    opening: list[Any] = []
    for message in messages:
        opening.append(message)
        if isinstance(message, dict) and message.get("role") == "user":
            break
    text = json.dumps([person, opening], sort_keys=True, ensure_ascii=False, default=str)
    return "api:" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Candidate:
    """One healthy agent as the balancer sees it now."""

    agent_id: str
    # this gateway's requests open to the agent now (a live set's size: never negative)
    in_flight: int = 0
    # what the agent last reported (zeros and one slot before its first report)
    running: int = 0
    waiting: int = 0
    parallel: int = 1
    rtt_s: float | None = None

    @property
    def busy(self) -> int:
        return max(0, self.in_flight, self.running + self.waiting)

    @property
    def utilisation(self) -> float:
        """Busy requests per sequence slot: below 1 the agent has free slots."""
        return self.busy / max(1, self.parallel)

    def describe(self) -> str:
        rtt = "unknown rtt" if self.rtt_s is None else f"rtt {self.rtt_s * 1000:.1f} ms"
        return f"{self.agent_id} ({self.busy}/{self.parallel} busy, {rtt})"


class Balancer:
    def __init__(
        self, max_conversations: int = MAX_CONVERSATIONS, rtt_tolerance_s: float = RTT_TOLERANCE_S
    ) -> None:
        self.max_conversations = max_conversations
        self.rtt_tolerance_s = rtt_tolerance_s
        self._sticky: OrderedDict[str, str] = OrderedDict()
        self._chosen_at: dict[str, int] = {}
        self._choices = 0

    def agent_of(self, conversation: str) -> str | None:
        """The agent ``conversation`` sticks to (None: none yet, or forgotten)."""
        return self._sticky.get(conversation)

    def choose(
        self, candidates: Iterable[Candidate], conversation: str | None = None, exclude: Collection[str] = ()
    ) -> Candidate | None:
        """The agent for a request of ``conversation`` (None: a request of its own), among the
        healthy ``candidates`` less the ``exclude``d ones (a retry's failed agents); None when
        none is left. The choice is remembered for the conversation."""
        pool = [c for c in candidates if c.agent_id not in exclude]
        if not pool:
            return None
        held = self._sticky.get(conversation) if conversation is not None else None
        sticky = next((c for c in pool if c.agent_id == held), None)
        # over capacity, not at it: an agent's load report lags its answers by up to a beat, and
        # one that just finished a turn still reads "every slot busy" for a moment
        spills = sticky is not None and sticky.utilisation > 1 and any(c.utilisation < 1 for c in pool)
        if sticky is not None and not spills:
            log.debug("conversation %s stays on agent %s (its cache holds the history)", conversation, held)
            return self._chose(sticky, conversation)
        chosen, why = self._least_busy(pool)
        if spills:
            # waiting for a slot costs more than reading the history again elsewhere; and an API
            # opening many clients share would otherwise pin them all to one agent
            log.info(
                "conversation %s moves from agent %s (requests wait for its slots) to %s",
                conversation,
                held,
                why,
            )
        elif held is not None:
            log.info("conversation %s moves from agent %s (not available) to %s", conversation, held, why)
        else:
            log.debug("request%s goes to %s", f" of conversation {conversation}" if conversation else "", why)
        return self._chose(chosen, conversation)

    def _least_busy(self, pool: list[Candidate]) -> tuple[Candidate, str]:
        lowest = min(c.utilisation for c in pool)
        free = [c for c in pool if c.utilisation == lowest]
        reason = "the most free capacity"
        known = [c.rtt_s for c in free if c.rtt_s is not None]
        if len(free) > 1 and known:
            fastest = min(known)
            near = [c for c in free if c.rtt_s is None or c.rtt_s - fastest <= self.rtt_tolerance_s]
            if len(near) < len(free):
                reason += ", then the lower round trip"
            free = near
        if len(free) > 1:
            reason += ", then the least recently chosen"
        chosen = min(free, key=lambda c: self._chosen_at.get(c.agent_id, -1))
        others = ", ".join(c.describe() for c in pool if c is not chosen)
        return chosen, f"{chosen.describe()}: {reason}" + (f" (beside {others})" if others else "")

    def _chose(self, chosen: Candidate, conversation: str | None) -> Candidate:
        self._choices += 1
        self._chosen_at[chosen.agent_id] = self._choices
        if conversation is not None:
            self.stick(conversation, chosen.agent_id)
        return chosen

    def stick(self, conversation: str, agent_id: str) -> None:
        """``conversation`` is served by ``agent_id`` from now on (e.g. after a retry moved it)."""
        self._sticky[conversation] = agent_id
        self._sticky.move_to_end(conversation)
        while len(self._sticky) > self.max_conversations:
            self._sticky.popitem(last=False)
