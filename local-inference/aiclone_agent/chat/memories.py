"""Long-term memory in the chat: which turns are kept, what is recalled into a prompt, and how.

Whose a turn is (its person key) comes from the entry point that authenticated the caller, never
from a request body (``aiclone_wire.memory``). A turn is remembered and memories are recalled only
where the channel's profile says ``memory: on`` and the person has not switched memory off for
themselves. The store is synchronous (SQLite, Chroma, the Rust BM25 index): every call runs in a
worker thread so the event loop keeps streaming other answers meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from aiclone_agent.chat.profiles import profile_for
from aiclone_agent.chat.template import Message
from aiclone_agent.core.config import ConfigStore
from aiclone_wire.errors import Problem, ProblemError
from aiclone_wire.memory import MemoryRecord

if TYPE_CHECKING:
    from aiclone_agent.memory import MemoryStore

log = logging.getLogger(__name__)

# The channel a record names (owner | web | api | telegram | lan) for each entry point's channel.
RECORD_CHANNEL = {
    "local": "owner",
    "owner": "owner",
    "relay": "web",
    "web": "web",
    "lan": "lan",
    "telegram": "telegram",
    "openai": "api",
    "api": "api",
}
RECALL_LIMIT = 5
# A remembered round in a prompt is cut to this: one long round must not crowd out the others
# (the fitter keeps a prefix of the ranked chunks, so a round that does not fit ends the block).
PROMPT_ROUND_CHARS = 1_000
MEMORY_HEADER = "From earlier conversations with this person (use only what helps with the question):"
FINISHED = ("stop", "length")


class MemoryNotFoundError(ProblemError, LookupError):
    """No memory with this id (or not the asking person's: it reads the same)."""

    def problem(self) -> Problem:
        return Problem(404, f"memory {self.args[0]} not found", "memory_not_found", "id")


class MemoryUnavailableError(ProblemError, RuntimeError):
    """The agent runs without a memory store."""

    def problem(self) -> Problem:
        return Problem(503, str(self), "memory_unavailable")


def record_channel(channel: str) -> str:
    return RECORD_CHANNEL.get(channel, "api")


def question_of(record: MemoryRecord) -> str:
    """The question of a remembered round (``"Q: …\\nA: …"``)."""
    text = record.text.removeprefix("Q: ")
    return text.split("\nA: ", 1)[0].strip()


def prompt_text(record: MemoryRecord, first: bool) -> str:
    """One recalled round as the prompt carries it: its date, then the round (cut)."""
    text = record.text if len(record.text) <= PROMPT_ROUND_CHARS else record.text[:PROMPT_ROUND_CHARS] + "…"
    line = f"[{record.at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC] {text}"
    return f"{MEMORY_HEADER}\n{line}" if first else line


class ChatMemory:
    """The chat service's side of the memory store: gating by channel and person, recall, writing."""

    def __init__(self, store: MemoryStore | None, config: ConfigStore) -> None:
        self.store = store
        self.config = config

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def on_for(self, person: str | None, channel: str) -> bool:
        """Whether this channel remembers at all (the person's own switch is the store's)."""
        if self.store is None or not person:
            return False
        return profile_for(self.config.current.channels, channel).memory == "on"

    async def recall(
        self,
        person: str | None,
        channel: str,
        question: str,
        window: Sequence[Message],
        conversation_id: str | None,
        dropped: int,
    ) -> list[MemoryRecord]:
        """The person's records worth recalling for ``question``, best first: from other
        conversations, and from this one the turns that ``window`` (the history that fits the
        context) no longer holds. Without a conversation the agent keeps (the OpenAI API, relayed
        requests: the client sends the history), rounds whose question the window holds are left out."""
        if self.store is None or person is None or not self.on_for(person, channel):
            return []
        store = self.store
        in_window = {m.content.strip() for m in window if m.role == "user"}
        whole = conversation_id is not None and dropped == 0

        def run() -> list[MemoryRecord]:
            if not store.enabled(person):
                return []
            found = store.recall(
                person,
                question,
                now=datetime.now(timezone.utc),
                exclude_conversation=conversation_id if whole else None,
                limit=RECALL_LIMIT if whole else RECALL_LIMIT + len(in_window),
            )
            if not whole:  # this conversation's rounds still in the window are there already
                found = [
                    r
                    for r in found
                    if not (
                        (conversation_id is None or r.conversation_id == conversation_id)
                        and question_of(r) in in_window
                    )
                ]
            return found[:RECALL_LIMIT]

        try:
            return await asyncio.to_thread(run)
        except Exception:
            log.exception("memory recall failed; answering without memories")
            return []

    async def remember(
        self, person: str | None, channel: str, question: str, answer: str, conversation_id: str | None
    ) -> MemoryRecord | None:
        """Keep one finished round, when this channel and this person remember."""
        if self.store is None or person is None or not answer.strip() or not self.on_for(person, channel):
            return None
        store = self.store

        def run() -> MemoryRecord | None:
            if not store.enabled(person):
                return None
            return store.remember(
                person,
                question=question,
                answer=answer,
                conversation_id=conversation_id,
                channel=record_channel(channel),
            )

        try:
            return await asyncio.to_thread(run)
        except Exception:
            log.exception("could not remember a round")
            return None

    # What a person (the LAN API, the gateway's memory_request frames, Telegram) and the owner (the
    # admin API) do with the records themselves. ``person`` given: only that person's.

    def _required(self) -> MemoryStore:
        if self.store is None:
            raise MemoryUnavailableError("long-term memory is not available on this agent")
        return self.store

    async def records(
        self, person: str | None, query: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[MemoryRecord]:
        """Newest first (best first with ``query``); ``person`` None: everyone's, each naming its person."""
        store = self._required()
        records = await asyncio.to_thread(store.list, person, query=query or None, limit=limit, offset=offset)
        # a person's own views never name whose a record is (they are all theirs)
        return records if person is None else [r.model_copy(update={"person": None}) for r in records]

    async def persons(self) -> list[tuple[str, int]]:
        return await asyncio.to_thread(self._required().persons)

    async def set_pinned(self, memory_id: str, pinned: bool) -> MemoryRecord:
        store = self._required()
        try:
            return await asyncio.to_thread(store.set_pinned, memory_id, pinned)
        except KeyError:
            raise MemoryNotFoundError(memory_id) from None

    async def delete(self, memory_id: str, person: str | None = None) -> None:
        """Erase one record (durable on return); another person's reads exactly as an absent one."""
        store = self._required()
        if not await asyncio.to_thread(store.delete, memory_id, person=person):
            raise MemoryNotFoundError(memory_id)

    async def delete_all(self, person: str) -> int:
        return await asyncio.to_thread(self._required().delete_all, person)

    async def enabled(self, person: str, enabled: bool | None = None) -> bool:
        """The person's own switch, after setting it (``enabled`` None: read only)."""
        store = self._required()

        def run() -> bool:
            if enabled is not None:
                store.set_enabled(person, enabled)
            return store.enabled(person)

        return await asyncio.to_thread(run)
