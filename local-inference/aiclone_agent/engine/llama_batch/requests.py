"""One generation request as both threads see it, and the async iterator its caller reads.

The event loop creates the request and reads its queue; the decode loop fills the queue (through
``loop.call_soon_threadsafe``) and owns every other field once the request is submitted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import clone_core
from aiclone_agent.engine.base import GenerationChunk, SamplingParams
from aiclone_agent.engine.llama_batch.sampling import SamplerChain

_END = object()


@dataclass(eq=False)
class BatchRequest:
    id: int  # the scheduler's id
    key: str  # the caller's request id (``abort`` takes it)
    channel: str
    prompt: list[int]
    params: SamplingParams
    max_tokens: int
    decoder: clone_core.StreamDecoder
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    submitted_at: float = field(default_factory=time.perf_counter)
    admitted_at: float = 0.0
    aborted: bool = False  # set by the event loop, read by the decode loop
    group: int = 0  # the adapter setting (``DecodeLoop.group_of``), fixed when submitted
    # decode-loop state
    seq: int = -1
    feed: list[int] = field(default_factory=list)  # tokens to put in the KV cache before sampling:
    # the prompt, or after a preemption what the sequence held and the token it had sampled
    prefilled: int = 0  # tokens of ``feed`` in the KV cache
    read_from: int = 0  # ``prefilled`` when the slot was set up: where reading ``feed`` began
    preemptions: int = 0
    last_token: int = -1  # sampled, not yet decoded
    completion: int = 0
    sampler: SamplerChain | None = None  # built by the decode loop when the request starts
    done: bool = False


class RequestStream(AsyncIterator[GenerationChunk]):
    """What ``generate`` returns: chunks until the final one; closing it early aborts the request."""

    def __init__(self, request: BatchRequest, on_close: Callable[[BatchRequest], None]) -> None:
        self._request = request
        self._on_close: Callable[[BatchRequest], None] | None = on_close
        self._finished = False

    def __aiter__(self) -> RequestStream:
        return self

    async def __anext__(self) -> GenerationChunk:
        if self._finished:
            self._release()
            raise StopAsyncIteration
        try:
            item = await self._request.queue.get()
        except BaseException:
            self._release()
            raise
        if item is _END:
            self._finished = True
            self._release()
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._finished = True
            self._release()
            raise item
        if item.finish_reason is not None:
            self._finished = True
            self._release()
        return item

    async def aclose(self) -> None:
        self._finished = True
        self._release()

    def _release(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self._request)

    def __del__(self) -> None:  # dropped unread: free its slot all the same
        self._release()


END = _END
