"""Type stub of the compiled module ``clone_core._core`` (kept in step by
tests/rust_core/test_stub.py). Offsets are Python ``str`` indices (Unicode code points).
Every error is a ``CoreError`` (a ``RuntimeError``); Rust panics become ``InternalError``."""

from collections.abc import Sequence
from os import PathLike

DEFAULT_CONTEXT_HEADER: str

class CoreError(RuntimeError): ...
class InvalidInputError(CoreError): ...
class ModelFormatError(CoreError): ...
class ContextOverflowError(CoreError): ...
class QueueFullError(CoreError): ...  # Scheduler.submit: the bounded queue is full (answer 503)
class InternalError(CoreError): ...

class AbortFlag:
    """A flag llama.cpp's abort callback reads after every graph node, without the GIL: pass
    ``callback_address`` and ``data_address`` to ``llama_set_abort_callback``; while the flag is
    set, ``llama_decode`` stops at the next node and returns 2 (its batch's cells removed). While a
    pause is asked for, the callback holds the computing thread between two nodes instead (the
    step goes on after ``resume``); the computing thread brackets its steps with ``enter`` and
    ``leave``, so a pause asked for between steps holds the next one back."""

    def __init__(self) -> None: ...
    def set(self) -> None:
        """Stop the step in flight (a held one too) at its next node."""
    def clear(self) -> None: ...
    @property
    def is_set(self) -> bool: ...
    def pause(self, timeout_s: float) -> bool:
        """Ask the computing thread to hold and wait (without the GIL) until nothing computes:
        True once it holds or is between steps, False after ``timeout_s``."""
    def resume(self) -> None:
        """Let the held thread go on."""
    @property
    def pause_asked(self) -> bool: ...
    def enter(self) -> None:
        """(the computing thread) A step begins; waits while a pause is asked for."""
    def leave(self) -> None:
        """(the computing thread) The step ended."""
    @property
    def parked_s(self) -> float:
        """Seconds the computing thread spent held inside steps."""
    @property
    def callback_address(self) -> int:
        """The C function ``bool (*)(void *data)``."""
    @property
    def data_address(self) -> int:
        """The callback's ``data``: valid while this object lives."""
    def poll(self) -> bool:
        """What the C callback returns now (calls it as llama.cpp does: holds while paused)."""

class Tokenizer:
    """The model's own tokenizer; ids equal llama.cpp's ``llama_tokenize``."""

    @staticmethod
    def from_gguf(path: str | PathLike[str]) -> Tokenizer:
        """From a GGUF file's ``tokenizer.ggml.*`` metadata (byte-level BPE, ``gpt2``)."""
    @staticmethod
    def from_file(path: str | PathLike[str]) -> Tokenizer:
        """From a Hugging Face ``tokenizer.json`` (BOS/EOS from ``tokenizer_config.json`` beside it)."""
    def encode(self, text: str, add_special: bool = False, parse_special: bool = False) -> list[int]:
        """Token ids. ``add_special``: BOS/EOS as the vocabulary asks; ``parse_special``:
        control tokens such as ``<|im_start|>`` in the text become their ids."""
    def encode_batch(
        self, texts: Sequence[str], add_special: bool = False, parse_special: bool = False
    ) -> list[list[int]]:
        """``encode`` over many texts in parallel (GIL released)."""
    def decode(self, ids: Sequence[int], skip_special: bool = False) -> str:
        """Text of ``ids``; invalid UTF-8 becomes U+FFFD. Raises InvalidInputError for bad ids."""
    def count(self, text: str, parse_special: bool = False) -> int:
        """``len(encode(text, parse_special=parse_special))`` without building the list."""
    def count_batch(self, texts: Sequence[str], parse_special: bool = False) -> list[int]:
        """Token counts of many texts, in parallel with rayon (GIL released)."""
    def token_to_bytes(self, id: int) -> bytes:
        """Raw bytes of one token."""
    def fit(
        self,
        template: ChatTemplate,
        system: str,
        chunks: Sequence[str],
        messages: Sequence[tuple[str, str]],
        n_ctx: int,
        reserve: int,
        context_header: str = ...,
        chunk_separator: str = "\n\n",
        max_chunk_tokens: int | None = None,
    ) -> FitResult:
        """Chooses what fits in ``n_ctx - reserve`` tokens: the system prompt (always; else
        ContextOverflowError), the newest message, chunks by rank (best first, appended to the
        system content after ``context_header``, joined by ``chunk_separator``), then older
        messages newest-first; whole messages, a contiguous tail of the history. ``messages``
        are ``(role, content)``, oldest first. ``prompt_tokens`` is exact:
        ``len(encode(prompt, add_special=True, parse_special=True))``."""
    def chunk(self, text: str, max_tokens: int, overlap_tokens: int = 0) -> list[Chunk]:
        """Chunks of at most ``max_tokens`` tokens, cut at paragraph, then sentence breaks
        (Russian and English), sharing up to ``overlap_tokens`` tokens of whole sentences;
        ``text[c.start:c.end] == c.text``. A chunk exceeds ``max_tokens`` only when it is a
        single character that alone needs more tokens (possible when ``max_tokens < 4``)."""
    def clear_cache(self) -> None:
        """Forgets memoised token counts (``fit`` memoises text between special tokens)."""
    @property
    def vocab_size(self) -> int: ...
    @property
    def bos_id(self) -> int | None: ...
    @property
    def eos_id(self) -> int | None: ...
    @property
    def add_bos(self) -> bool:
        """Whether ``encode(add_special=True)`` prepends BOS."""
    @property
    def special_tokens(self) -> dict[str, int]:
        """Control and user-defined tokens, text to id."""

class ChatTemplate:
    """Per-role text around each message, from rendering the model's Jinja chat template with
    sentinel content. ChatML: prefixes ``{"user": "<|im_start|>user\\n", ...}``, suffixes
    ``{"user": "<|im_end|>\\n", ...}``, generation prompt ``"<|im_start|>assistant\\n"``."""

    def __init__(
        self,
        prefixes: dict[str, str],
        suffixes: dict[str, str],
        generation_prompt: str,
        bos: str = "",
    ) -> None: ...
    def render(self, messages: Sequence[tuple[str, str]], add_generation_prompt: bool = True) -> str:
        """``bos + (prefix + content + suffix)... + generation_prompt``."""
    @property
    def prefixes(self) -> dict[str, str]: ...
    @property
    def suffixes(self) -> dict[str, str]: ...
    @property
    def generation_prompt(self) -> str: ...
    @property
    def bos(self) -> str: ...

class FitResult:
    @property
    def messages(self) -> list[int]:
        """Indices of kept messages, chronological."""
    @property
    def chunks(self) -> list[int]:
        """Indices of kept chunks, by rank."""
    @property
    def prompt_tokens(self) -> int: ...
    @property
    def prompt(self) -> str: ...

class Chunk:
    @property
    def text(self) -> str: ...
    @property
    def start(self) -> int:
        """Offset in code points (a Python ``str`` index)."""
    @property
    def end(self) -> int: ...
    @property
    def tokens(self) -> int: ...

class StreamDecoder:
    """Feed generated ids, get complete UTF-8 text; a stop string is never emitted, not even
    in part; text that may start one is held back until it is decided."""

    def __init__(self, tokenizer: Tokenizer, stop: Sequence[str] = (), skip_special: bool = True) -> None: ...
    def feed(self, ids: Sequence[int]) -> str:
        """Text safe to emit now ("" once stopped)."""
    def finish(self) -> str:
        """End of generation: the held-back text (an unfinished character becomes U+FFFD)."""
    @property
    def stopped(self) -> bool: ...
    @property
    def matched_stop(self) -> str | None: ...
    @property
    def stop_reason(self) -> str | None:
        """``"stop"`` once a stop string matched, else None."""

class LexicalIndex:
    """BM25 over chunks grouped by document; Russian and English Snowball stemming."""

    def __init__(self) -> None: ...
    def add(self, doc_id: str, chunk_ids: Sequence[str], texts: Sequence[str]) -> None:
        """Adds or replaces a document's chunks (analysis in parallel, GIL released)."""
    def remove(self, doc_id: str) -> int:
        """Removes every chunk of ``doc_id``; returns how many."""
    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """``(chunk_id, score)`` best first, ties broken by chunk id."""
    def analyze(self, text: str) -> list[str]:
        """The index terms of ``text`` (lower-cased, stop words dropped, stemmed)."""
    def count(self, doc_id: str | None = None) -> int: ...
    def document_ids(self) -> list[str]: ...
    def __len__(self) -> int: ...

class StepPlan:
    """One ``llama_decode`` step. Compares equal to a plan with the same lists."""

    @property
    def decode(self) -> list[int]:
        """Sequences whose prompt is fully prefilled: one token each, in admission order."""
    @property
    def prefill(self) -> list[tuple[int, int]]:
        """``(request_id, n_tokens)`` prompt chunks in admission order;
        ``sum(n) <= step_tokens - len(decode)`` (and ``<= prompt_budget`` when ``decode``)."""
    @property
    def group(self) -> int:
        """The group (adapter setting) of every request in this plan."""

class SchedulerStats:
    @property
    def waiting(self) -> int:
        """Requests queued, not yet admitted."""
    @property
    def waiting_by_channel(self) -> dict[str, int]:
        """Every configured channel, 0 included."""
    @property
    def running(self) -> int:
        """Admitted requests (prefilling and decoding)."""
    @property
    def prefilling(self) -> int: ...
    @property
    def admitted_by_channel(self) -> dict[str, int]:
        """Admissions since start, every configured channel."""
    @property
    def rejected(self) -> int:
        """``QueueFullError`` count since start."""
    @property
    def group_switches(self) -> int:
        """Steps whose group differed from the step before, since start."""
    @property
    def preempted(self) -> int:
        """Running requests sent back to the queue by ``preempt``, since start."""

class Scheduler:
    """Request scheduler behind continuous batching (the engine's decode loop is its only user).

    Fair admission by stride scheduling: a free slot goes to the channel with waiting requests whose
    pass would be smallest after the admission (``pass + 720720 // weight``; ties: bigger weight,
    then name), FIFO within a channel; a channel whose queue was empty restarts at no less than
    the smallest pass of the channels with waiting requests, so idling banks no credit. With
    weights owner 8 and api 1 both busy, api gets one admission in nine. Same policy as the tests'
    pure-Python ``Scheduler`` (tests/rust_core/reference.py). Calls are microseconds; the GIL is not
    released.

    A request's group is the engine's adapter setting: llama.cpp applies one LoRA scale to a whole
    ``llama_decode``, so a step plans requests of one group only, and the running groups take
    steps in turn (the next group key after the last step's, wrapping).

    Preemption: ``preempt`` sends a running request back to the front of its channel's queue so a
    heavier channel's waiting request takes its slot; its re-admission is not charged again."""

    def __init__(
        self, *, max_running: int, max_waiting: int, step_tokens: int, channel_weights: dict[str, int]
    ) -> None:
        """``max_running``: sequence slots; ``max_waiting``: queue bound; ``step_tokens``: tokens per
        decode step (``>= max_running``); ``channel_weights``: bigger = higher priority, 1..1000.
        InvalidInputError on anything else."""
    def submit(self, request_id: int, channel: str, prompt_tokens: int, group: int = 0) -> None:
        """Queues a request of ``group`` (0..2**32-1). QueueFullError when ``max_waiting`` requests
        already wait; InvalidInputError for an unknown channel, an id already waiting or running,
        ``prompt_tokens < 1`` or a group out of range."""
    def admit(self) -> list[int]:
        """Moves waiting requests into free slots; they start prefilling their whole prompt."""
    def set_remaining(self, request_id: int, n_tokens: int) -> None:
        """Part of the prompt is in the KV cache already: only ``n_tokens`` (>= 1) remain to
        prefill. InvalidInputError unless the request is prefilling."""
    def set_held(self, request_id: int, held: bool) -> None:
        """The running request's prompt is read elsewhere for now (``held``: in no plan, its slot
        kept), or is back (plans name it again). InvalidInputError unless it is running."""
    def plan(self, prompt_budget: int | None = None) -> StepPlan:
        """The next step, for one group: a token for every decoding sequence of it, then its prompt
        chunks in admission order up to ``step_tokens``, and at most ``prompt_budget`` (at least 1)
        prompt tokens when the step decodes anything. Taken as executed: a prompt finished in this
        step decodes from the next plan on. InvalidInputError for a negative budget."""
    def preempt(self, request_id: int, prompt_tokens: int) -> None:
        """Sends a running request back to the front of its channel's queue (its slot is free);
        admitted again, uncharged, it prefills ``prompt_tokens`` (>= 1). QueueFullError when
        ``max_waiting`` requests wait; InvalidInputError unless it is running."""
    def finish(self, request_id: int) -> None:
        """A running sequence ended; frees its slot. InvalidInputError unless it is running."""
    def cancel(self, request_id: int) -> bool:
        """Removes a waiting or running request; False when the id is unknown."""
    def stats(self) -> SchedulerStats: ...
    @property
    def max_running(self) -> int: ...
    @property
    def max_waiting(self) -> int: ...
    @property
    def step_tokens(self) -> int: ...
    @property
    def channel_weights(self) -> dict[str, int]: ...

_GgufValue = int | float | bool | str | list[int] | list[float] | list[bool]

def read_gguf_header(
    path: str | PathLike[str],
) -> tuple[dict[str, _GgufValue], list[tuple[str, int, tuple[int, ...]]]]:
    """A GGUF file's metadata and its tensors ``(name, n_bytes, shape)``, read within bounds no
    real model comes near (arrays 3 deep, 4 Mi items, 2**16 keys, 2**20 tensors of at most 4
    dimensions, the first 256 MiB); string arrays, nested arrays and arrays of more than 4,096
    scalars are their length, skipped without being built. The tensors must end within the
    file. ModelFormatError (the bare reason) when the header is refused; OSError when the file
    cannot be opened."""

def _debug_panic() -> None:
    """Panics inside Rust; raises InternalError (tests the panic boundary)."""
