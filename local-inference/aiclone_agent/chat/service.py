"""The orchestrator: persona + conversation -> fitted prompt -> engine -> streamed answer.

Every channel (the admin's test chat, the OpenAI API, the LAN chat, requests relayed by the gateway
and Telegram) goes through ``ChatService.prepare`` (``start_conversation_turn`` where the agent
keeps the conversation), so prompt fitting and metrics live in one place.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncGenerator, Coroutine
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiclone_agent.chat.context import FittedPrompt
from aiclone_agent.chat.fitting import PromptFitter
from aiclone_agent.chat.memories import FINISHED, ChatMemory, prompt_text
from aiclone_agent.chat.profiles import (
    allowed_knowledge,
    is_public,
    profile_for,
    profile_name,
    profile_params,
)
from aiclone_agent.chat.store import ConversationStore, NewConversation
from aiclone_agent.chat.template import Message, PromptRenderer
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.core.metrics import AgentMetrics
from aiclone_agent.engine.base import (
    EngineClient,
    FinishReason,
    GenerationChunk,
    GenerationStream,
    SamplingParams,
)
from aiclone_wire.errors import Problem, ProblemError
from aiclone_wire.memory import MemoryRecord

if TYPE_CHECKING:
    from aiclone_agent.rag.retrieval import RetrievedChunk
    from aiclone_agent.rag.service import RagService


PARTIAL_SAVE_S = 1.0  # how often a streaming answer is written to the store

log = logging.getLogger(__name__)


class ConversationNotFoundError(ProblemError, LookupError):
    """``args[0]``: the conversation's id."""

    def problem(self) -> Problem:
        return Problem(
            404, f"conversation {self.args[0]} not found", "conversation_not_found", "conversation_id"
        )


class ConversationNotSavedError(ProblemError):
    """The store could not commit a turn (a full or failing disk): ``args[0]`` says why, for the log."""

    def problem(self) -> Problem:
        return Problem(500, "the conversation could not be saved on this PC", "conversation_not_saved")


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


@dataclass(frozen=True)
class Author:
    """Who writes a conversation that is not the owner's: a LAN user (the gateway's user id and name)."""

    id: str
    name: str


class Generation:
    """One prepared request: the prompt is fitted; iterate ``chunks()`` to run it."""

    def __init__(
        self,
        service: ChatService,
        fitted: FittedPrompt,
        params: SamplingParams,
        channel: str,
        knowledge: list[RetrievedChunk] | None = None,
        memories: list[MemoryRecord] | None = None,
        person: str | None = None,
        question: str = "",
    ):
        self.request_id = uuid.uuid4().hex
        self.fitted = fitted
        self.knowledge = knowledge or []  # the retrieved chunks the prompt carries, best first
        self.memories = memories or []  # the person's recalled rounds the prompt carries, best first
        # whose turn this is (a person key, set by the entry point that authenticated them) and the
        # conversation it belongs to (None where the client keeps the history): how it is remembered
        self.person = person
        self.question = question  # the message answered, as the user wrote it
        self.conversation_id: str | None = None
        self.remembered: MemoryRecord | None = None
        self.params = params
        self.channel = channel
        self.text = ""
        self.usage = Usage(fitted.prompt_tokens, 0)
        self.finish_reason: FinishReason | None = None
        self._service = service
        self._stream: GenerationStream | None = None
        # set for a stored conversation: the answer's hidden row, written as it streams, once
        # the turn's commit (running beside the first tokens) is done
        self.answer_row: int | None = None
        self._stored: asyncio.Future[int] | None = None

    @property
    def sources(self) -> list[dict]:
        """Citations for the document chunks in the prompt: document, chunk index, char offsets."""
        return [chunk.source() for chunk in self.knowledge]

    @property
    def memories_json(self) -> list[dict]:
        """``memories`` as JSON objects (``MemoryRecord``), for answers that are plain dicts."""
        return [m.model_dump(mode="json") for m in self.memories]

    def start(self) -> GenerationStream:
        """Queue the request in the engine now: ``EngineBusyError`` (503) when its queue is full,
        before any response has started. The engine's stream (the same one on every call)."""
        if self._stream is None:
            self._started_at = time.perf_counter()
            # the engine's scheduler weighs the profiles (owner, web, telegram, api), not entry points
            self._stream = self._service.engine.generate(
                self.fitted.prompt, self.params, self.request_id, profile_name(self.channel)
            )
        return self._stream

    def store_turn(self, commit: Coroutine[Any, Any, int]) -> None:
        """Run the turn's commit (it yields the answer's row) beside the first tokens: the owner's
        first token does not wait for an fsync (seconds on a disk busy with other writes); the
        stream's end waits for it (``turn_stored``), so a turn is durable before it is done."""
        self._stored = asyncio.ensure_future(commit)
        self._stored.add_done_callback(self._on_stored)

    def _on_stored(self, stored: asyncio.Future[int]) -> None:
        if not stored.cancelled() and stored.exception() is None:
            self.answer_row = stored.result()

    async def turn_stored(self) -> int | None:
        """The answer's row once the turn is committed; None for a turn the agent does not keep.
        ``ConversationNotSavedError`` when the commit failed. Cancelling the waiter leaves the
        commit running (``finish_conversation_turn`` still needs its row)."""
        if self._stored is None:
            return None
        try:
            return await asyncio.shield(self._stored)
        except sqlite3.IntegrityError as exc:  # deleted in another tab between the check and the commit
            raise ConversationNotFoundError(self.conversation_id) from exc
        except sqlite3.Error as exc:
            raise ConversationNotSavedError(str(exc)) from exc

    async def chunks(self) -> AsyncGenerator[GenerationChunk, None]:
        engine_stream = self.start()
        metrics = self._service.metrics
        started = self._started_at
        first_token_at: float | None = None
        saved_at = started
        metrics.in_flight.inc()
        try:
            async with aclosing(engine_stream) as stream:
                async for chunk in stream:
                    if first_token_at is None and chunk.completion_tokens:
                        first_token_at = time.perf_counter()
                        metrics.observe_first_token(self.channel, first_token_at - started)
                    self.text += chunk.text
                    if self._stored is not None and self._stored.done() and self.answer_row is None:
                        await self.turn_stored()  # the commit failed: end the stream now, not at its end
                    if self.answer_row is not None and time.perf_counter() - saved_at >= PARTIAL_SAVE_S:
                        saved_at = (
                            time.perf_counter()
                        )  # what the user saw survives a crash, give or take this
                        await self._service.store.save_partial(self.answer_row, self.text)
                    self.usage = Usage(chunk.prompt_tokens, chunk.completion_tokens)
                    if chunk.finish_reason:
                        self.finish_reason = chunk.finish_reason
                    yield chunk
            await self.turn_stored()  # durable before the stream says it is done
            if self.finish_reason in FINISHED:  # a finished turn (not an error or a cancel) is kept
                self.remembered = await self._service.memory.remember(
                    self.person, self.channel, self.question, self.text, self.conversation_id
                )
        finally:
            metrics.in_flight.dec()
            if self.finish_reason is None:
                self.finish_reason = "abort"
            completion = self.usage.completion_tokens
            metrics.generated_tokens.labels(self.channel).inc(completion)
            metrics.generations.labels(self.channel, self.finish_reason).inc()
            if first_token_at is not None and completion > 1:
                elapsed = time.perf_counter() - first_token_at
                if elapsed > 0:
                    metrics.tokens_per_second.labels(self.channel).observe((completion - 1) / elapsed)


class ChatService:
    def __init__(
        self,
        engine: EngineClient,
        store: ConversationStore,
        config: ConfigStore,
        metrics: AgentMetrics,
        rag: RagService | None = None,
        memory: ChatMemory | None = None,
    ):
        self.engine = engine
        self.rag = rag
        # none given: memory off (nothing written, nothing recalled)
        self.memory = memory if memory is not None else ChatMemory(None, config)
        self.store = store
        self.config = config
        self.metrics = metrics
        self.renderer = PromptRenderer(engine.chat_template)
        self.fitter = PromptFitter(self.renderer, engine.tokenizer, engine.chat_template.bos_token)

    def sampling_params(
        self,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop: tuple[str, ...] = (),
        seed: int | None = None,
    ) -> SamplingParams:
        model = self.config.current.model
        return SamplingParams(
            max_tokens=max_tokens if max_tokens is not None else model.max_tokens,
            temperature=model.temperature if temperature is None else temperature,
            top_p=model.top_p if top_p is None else top_p,
            stop=stop,
            seed=seed,
        )

    # A persona must leave at least this many tokens of the context for the conversation itself.
    MIN_CONVERSATION_TOKENS = 256

    def persona_room(self, persona: str) -> tuple[int, int]:
        """(tokens the persona takes, most tokens a persona may take): the context window less
        the answer's reserve and room for a conversation."""
        n_ctx = self.engine.info.n_ctx
        most = n_ctx - self.config.current.model.max_tokens - self.MIN_CONVERSATION_TOKENS
        return self.fitter.tokenizer.count(persona.strip(), parse_special=False), max(most, 0)

    def system_prompt(self, extra_system: str = "") -> str:
        persona = self.config.current.clone.system_prompt.strip()
        return "\n\n".join(part for part in (persona, extra_system.strip()) if part)

    async def retrieve(self, query: str, channel: str) -> list[RetrievedChunk]:
        """Knowledge-base chunks for ``query``, best first (none when RAG is off or empty): on a
        public channel the best among documents open to everyone."""
        if self.rag is None:
            return []
        return await self.rag.knowledge_for(query, public_only=is_public(channel))

    def prepare(
        self,
        messages: list[Message],
        params: SamplingParams,
        channel: str,
        extra_system: str = "",
        knowledge: list[RetrievedChunk] | None = None,
        *,
        person: str | None = None,
        memories: list[MemoryRecord] | None = None,
        persona: str | None = None,
    ) -> Generation:
        """Fit persona + the channel's profile + recalled memories + retrieved chunks + messages
        into the context window (raises ``ContextOverflowError``). Memories and chunks share the
        system message's context, memories first (their own block, ranked): the lowest-ranked
        go first. ``persona``: answer with that channel's profile instead (the owner's preview of
        another channel, which also sees only what that channel may read); the request stays
        ``channel``'s for scheduling and memory."""
        profile = profile_for(self.config.current.channels, persona or channel)
        knowledge = allowed_knowledge(profile, knowledge or [], is_public(persona or channel))
        memories = memories or []
        params = profile_params(profile, params)
        extra_system = "\n\n".join(
            p for p in (profile.system_prompt_extra.strip(), extra_system.strip()) if p
        )
        fitted = self.fitter.fit(
            self.system_prompt(extra_system),
            messages,
            n_ctx=self.engine.info.n_ctx,
            reserve=params.max_tokens,
            chunks=[
                *(prompt_text(m, first=i == 0) for i, m in enumerate(memories)),
                *(f"[{rank}] {c.document_name}\n{c.text}" for rank, c in enumerate(knowledge, start=1)),
            ],
        )
        kept = [i for i in fitted.chunks if i < len(memories)]
        question = messages[-1].content if messages and messages[-1].role == "user" else ""
        return Generation(
            self,
            fitted,
            params,
            channel,
            [knowledge[i - len(memories)] for i in fitted.chunks if i >= len(memories)],
            [memories[i] for i in kept],
            person,
            question,
        )

    async def prepare_with_memory(
        self,
        messages: list[Message],
        params: SamplingParams,
        channel: str,
        extra_system: str = "",
        knowledge: list[RetrievedChunk] | None = None,
        *,
        person: str | None = None,
        conversation_id: str | None = None,
        persona: str | None = None,
    ) -> Generation:
        """``prepare``, with the person's memories recalled for the newest message when the
        channel and the person remember: what the window without them would not already hold."""
        generation = self.prepare(
            messages, params, channel, extra_system, knowledge, person=person, persona=persona
        )
        if not self.memory.on_for(person, channel):
            return generation
        memories = await self.memory.recall(
            person,
            channel,
            generation.question,
            messages[generation.fitted.dropped :],  # the history the window holds
            conversation_id,
            generation.fitted.dropped,
        )
        if not memories:
            return generation
        return self.prepare(
            messages,
            params,
            channel,
            extra_system,
            knowledge,
            person=person,
            memories=memories,
            persona=persona,
        )

    async def start_conversation_turn(
        self,
        message: str,
        conversation_id: str | None,
        params: SamplingParams,
        channel: str,
        author: Author | None = None,
        person: str | None = None,
        persona: str | None = None,
    ) -> tuple[str, Generation]:
        """Validate, fit and record the user's message; return the conversation id and the
        generation that answers it. With ``author`` (a LAN user) the conversation is theirs: a new
        one records them, and only their own can be continued. ``person`` (the caller's person
        key) is whose memories are recalled and who the finished turn is remembered for;
        ``persona``: another channel's profile to answer with (see ``prepare``)."""
        if conversation_id is None:
            history: list[Message] = []
        else:
            if await self.store.get(conversation_id, author.id if author else None) is None:
                raise ConversationNotFoundError(conversation_id)
            history = await self.store.history(conversation_id)
        knowledge = await self.retrieve(message, channel)
        generation = await self.prepare_with_memory(
            [*history, Message("user", message)],
            params,
            channel,
            knowledge=knowledge,
            person=person,
            conversation_id=conversation_id,
            persona=persona,
        )
        generation.start()  # a full queue refuses the turn before anything is stored
        new = None
        if conversation_id is None:
            title = message.strip().splitlines()[0]
            new = NewConversation(
                title, channel, author.name if author else None, author.id if author else None
            )
            conversation_id = uuid.uuid4().hex
        generation.conversation_id = conversation_id
        generation.store_turn(self.store.begin_turn(conversation_id, message, new))
        return conversation_id, generation

    async def finish_conversation_turn(self, conversation_id: str, generation: Generation) -> None:
        try:
            row = await generation.turn_stored()
        except ProblemError as exc:  # the stream ended with this error: there is nothing to finish
            log.warning("conversation %s: the turn was not saved: %s", conversation_id, exc)
            return
        assert row is not None, "finish_conversation_turn needs a turn begun by start_conversation_turn"
        if generation.text or generation.finish_reason != "abort":
            await self.store.finish_answer(
                row,
                generation.text,
                {
                    "finish_reason": generation.finish_reason,
                    "usage": generation.usage.as_dict(),
                    "sources": generation.sources,
                },
            )
        else:
            await self.store.drop_answer(row)
