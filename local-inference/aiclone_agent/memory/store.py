"""``MemoryStore``: every person's remembered rounds, what the chat, the APIs and the link call.

A round (the person's question and the clone's answer) is written verbatim to SQLite (``rows``),
embedded with the knowledge base's e5 model into ChromaDB (``index``) and indexed by the Rust BM25
(``lexical``); ``recall`` ranks a person's rounds for a new question (``recall``, ``dates``,
``subjects``). Nothing here calls a language model.

Persons never mix: every row read names its person, each person has their own BM25 index and
their own dense matrix, and every search result is joined back to that person's rows before it
is returned. Erasures are durable when they return: the rows' deletion is committed (synchronous
FULL), the vectors are deleted from ChromaDB and the BM25 entries dropped. All methods block (the
query is embedded, SQLite is written): call them on a worker thread.
"""

from __future__ import annotations

import builtins
import logging
import secrets
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import numpy as np

from aiclone_agent.memory.dates import time_window
from aiclone_agent.memory.importance import marked_important
from aiclone_agent.memory.index import MemoryVectors
from aiclone_agent.memory.lexical import MemoryLexical
from aiclone_agent.memory.recall import Scored, coverage, rank, score
from aiclone_agent.memory.rows import MemoryRows, Row
from aiclone_agent.memory.subjects import asked_subject, stated_subject
from aiclone_agent.rag.embeddings import Embedder
from aiclone_wire.memory import MemoryRecord

DEFAULT_CAP_PER_PERSON = 50_000
# the agent's default ``limits.max_message_chars``: a longer round is kept cut, not refused
DEFAULT_TEXT_LIMIT = 32_000
CANDIDATES = 30  # from each of dense, BM25 and the time window
Mode = Literal["hybrid", "dense", "lexical"]
log = logging.getLogger(__name__)


def round_text(question: str, answer: str, limit: int) -> str:
    """The round as kept: "Q: …\\nA: …", cut to ``limit`` characters (the question kept first)."""
    text = f"Q: {question.strip()}\nA: {answer.strip()}"
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


class MemoryStore:
    def __init__(
        self,
        data_dir: Path,
        embedder: Embedder | None,
        *,
        cap_per_person: int = DEFAULT_CAP_PER_PERSON,
        text_limit: int = DEFAULT_TEXT_LIMIT,
    ) -> None:
        if cap_per_person < 1 or text_limit < 16:
            raise ValueError("cap_per_person must be >= 1 and text_limit >= 16")
        self.embedder = embedder
        self.cap_per_person, self.text_limit = cap_per_person, text_limit
        self.rows = MemoryRows(data_dir / "memories.sqlite3")
        self.vectors = (
            MemoryVectors(data_dir / "chroma", embedder.name, embedder.dimension)
            if embedder is not None
            else None
        )
        self.lexical = MemoryLexical(self.rows.texts)
        # writes and index loads of one store happen one at a time (embedding a query does not wait)
        self._lock = threading.RLock()

    # -- writing -----------------------------------------------------------------------------

    def remember(
        self,
        person: str,
        *,
        question: str,
        answer: str,
        conversation_id: str | None,
        channel: str,
        at: datetime | None = None,
    ) -> MemoryRecord | None:
        """Keeps one finished round; None (nothing kept) when ``person`` switched memory off or
        the round is empty. Pinned when the question asks for it to be remembered."""
        if not (question.strip() or answer.strip()) or not self.rows.enabled(person):
            return None
        return self.remember_many(
            person, [(question, answer, conversation_id, channel, at or datetime.now(timezone.utc))]
        )[0]

    def remember_many(
        self, person: str, rounds: Sequence[tuple[str, str, str | None, str, datetime]]
    ) -> builtins.list[MemoryRecord]:
        """Keeps several rounds of one person at once (one embedding batch): imports and benchmarks.
        Each is ``(question, answer, conversation_id, channel, at)``; the person's switch is not asked."""
        terms = self.lexical.terms
        rows = [
            Row(
                id="m_" + secrets.token_hex(8),
                person=person,
                text=round_text(question, answer, self.text_limit),
                at=(at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp(),
                conversation_id=conversation_id,
                channel=channel,
                pinned=marked_important(question),
                subject=stated_subject(question, terms),
            )
            for question, answer, conversation_id, channel, at in rounds
        ]
        vectors = (
            self.embedder.embed_passages([row.text for row in rows]) if self.embedder is not None else None
        )
        with self._lock:
            self.rows.insert_many(rows)
            if self.vectors is not None and vectors is not None:
                self.vectors.add(person, [row.id for row in rows], vectors)
            for row in rows:
                self.lexical.add(person, row.id, row.text)
            self._enforce_cap(person)
        return [row.record() for row in rows]

    def _enforce_cap(self, person: str) -> None:
        excess = self.rows.count(person) - self.cap_per_person
        if excess > 0:
            dropped = self.rows.oldest_unpinned(person, excess)
            if dropped:
                log.info(
                    "memory: a person reached the cap of %d rounds; dropped the %d oldest unpinned",
                    self.cap_per_person,
                    len(dropped),
                )
                self._erase(person, dropped)

    # -- recall ------------------------------------------------------------------------------

    def recall(
        self,
        person: str,
        query: str,
        *,
        now: datetime,
        exclude_conversation: str | None = None,
        exclude_ids: set[str] | frozenset[str] = frozenset(),
        limit: int = 5,
        mode: Mode = "hybrid",
    ) -> builtins.list[MemoryRecord]:
        """``person``'s rounds most relevant to ``query``, best first, at most ``limit``; none when
        nothing is relevant or the person switched memory off. ``mode`` "dense" (nearest vectors,
        no threshold, no dates, no newest-wins) and "lexical" exist for the benchmark's baselines."""
        if not query.strip() or limit <= 0 or not self.rows.enabled(person):
            return []
        now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        vector = self.embedder.embed_query(query) if self.embedder is not None and mode != "lexical" else None
        with self._lock:
            dense = self._dense(person, vector) if vector is not None else {}
            if mode == "dense":
                return self._records(
                    person,
                    [i for i, _ in sorted(dense.items(), key=lambda p: -p[1])],
                    exclude_conversation,
                    exclude_ids,
                    limit,
                )
            lexical = [memory_id for memory_id, _ in self.lexical.search(person, query, CANDIDATES)]
            window = time_window(query, now)
            asked = asked_subject(query, self.lexical.terms)
            candidates = self.rows.of_person(person, [*dense, *lexical])
            if window is not None:
                start, end = window.start.timestamp() - 43_200, window.end.timestamp() + 43_200
                candidates.update({r.id: r for r in self.rows.in_window(person, start, end, CANDIDATES)})
            subjects = {row.subject for row in candidates.values() if row.subject} | (
                {asked} if asked else set()
            )
            for row in self.rows.newest_by_subject(person, subjects).values():
                candidates[row.id] = row
        query_terms = set(self.lexical.terms(query))
        scored: builtins.list[Scored] = []
        hidden: set[str] = set()  # left out, but an update among them still hides what it replaced
        for row in candidates.values():
            if row.person != person:
                continue
            if row.id in exclude_ids or (
                exclude_conversation is not None and row.conversation_id == exclude_conversation
            ):
                hidden.add(row.id)
            scored.append(
                score(
                    row,
                    dense=(dense[row.id] if row.id in dense else self._cosine(vector, row))
                    if vector is not None
                    else None,
                    lexical_coverage=coverage(query_terms, set(self.lexical.terms(row.text))),
                    asked_subject=asked,
                    window=window,
                    now=now,
                )
            )
        return [item.row.record() for item in rank(scored, limit, hidden)]

    def _dense(self, person: str, vector: np.ndarray) -> dict[str, float]:
        assert self.vectors is not None and self.embedder is not None
        embedder = self.embedder

        def embed(ids: builtins.list[str]) -> np.ndarray:
            rows = self.rows.of_person(person, ids)
            return embedder.embed_passages([rows[i].text for i in ids])

        found = self.vectors.search(person, vector, CANDIDATES, lambda: self.rows.ids(person), embed)
        return dict(found)

    def _cosine(self, vector: np.ndarray, row: Row) -> float | None:
        """A candidate found by BM25 or by its time but not among the dense neighbours."""
        assert self.vectors is not None
        stored = self.vectors.vector(row.person, row.id)
        return float(stored @ vector) if stored is not None else None

    def _records(
        self,
        person: str,
        ids: builtins.list[str],
        exclude_conversation: str | None,
        exclude_ids: set[str] | frozenset[str],
        limit: int,
    ) -> builtins.list[MemoryRecord]:
        rows = self.rows.of_person(person, ids)
        kept = [
            rows[i]
            for i in ids
            if i in rows
            and i not in exclude_ids
            and (exclude_conversation is None or rows[i].conversation_id != exclude_conversation)
        ]
        return [row.record() for row in kept[:limit]]

    # -- the person's and the owner's views -----------------------------------------------------

    def list(
        self, person: str | None, *, query: str | None = None, limit: int = 100, offset: int = 0
    ) -> builtins.list[MemoryRecord]:
        """Newest first; ``query``: those containing it (case-insensitive). ``person`` None: every
        person's (the owner's admin), each record then naming its person."""
        rows = self.rows.listing(person, query, max(0, limit), max(0, offset))
        return [row.record(with_person=person is None) for row in rows]

    def persons(self) -> builtins.list[tuple[str, int]]:
        return self.rows.persons()

    def newest(self, person: str, limit: int) -> builtins.list[MemoryRecord]:
        """``person``'s last ``limit`` rounds, newest first (the benchmark's "last N turns")."""
        return [row.record() for row in self.rows.newest(person, limit)]

    def set_pinned(self, memory_id: str, pinned: bool) -> MemoryRecord:
        """Pins (never dropped by the cap, ranked higher) or unpins; KeyError when absent."""
        with self._lock:
            if not self.rows.set_pinned(memory_id, pinned):
                raise KeyError(memory_id)
            row = self.rows.get(memory_id)
        if row is None:
            raise KeyError(memory_id)
        return row.record(with_person=True)

    # -- erasure -----------------------------------------------------------------------------

    def delete(self, memory_id: str, *, person: str | None = None) -> bool:
        """Erases one round (with ``person``: only if it is theirs); whether one was erased."""
        with self._lock:
            row = self.rows.get(memory_id)
            if row is None or (person is not None and row.person != person):
                return False
            return self._erase(row.person, [memory_id]) > 0

    def delete_all(self, person: str) -> int:
        """Erases every round of ``person``; how many."""
        with self._lock:
            ids = self.rows.delete_person(person)
            if self.vectors is not None:
                self.vectors.remove_person(person)
            self.lexical.remove_person(person)
        return len(ids)

    def _erase(self, person: str, ids: builtins.list[str]) -> int:
        deleted = self.rows.delete(person, ids)
        if self.vectors is not None:
            self.vectors.remove(person, ids)
        self.lexical.remove(person, ids)
        return deleted

    # -- the person's switch -------------------------------------------------------------------

    def enabled(self, person: str) -> bool:
        return self.rows.enabled(person)

    def set_enabled(self, person: str, enabled: bool) -> None:
        self.rows.set_enabled(person, enabled)

    def close(self) -> None:
        with self._lock:
            self.rows.close()
