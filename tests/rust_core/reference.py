"""Pure-Python reference of every clone_core function: the oracle in property tests and the
baseline in bench/rust_core.py. Built on the ``tokenizers`` package from the same GGUF vocabulary.
It lives with the tests, not in the shipped ``clone_core`` package: ``tokenizers`` is a dev-only
dependency (requirements-dev.txt), which the agent never installs.

Deliberately simple: no caching, no fast paths; the same policies as the Rust core.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer as HfTokenizer
from tokenizers import decoders, models, pre_tokenizers

_CONTROL, _USER_DEFINED = 3, 4
_SMOLLM_FAMILY = {"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva"}
_GPT2_FAMILY = {"gpt2", "mpt", "olmo", "jais", "gpt-2"}


def read_gguf_metadata(path: str | Path) -> dict[str, object]:
    """Key/value metadata of a GGUF file (v2/v3), tensor data not read."""
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
    with open(path, "rb") as f:

        def unpack(fmt: str) -> object:
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def string() -> str:
            return f.read(unpack("<Q")).decode("utf-8", errors="replace")  # type: ignore[arg-type]

        def value(kind: int) -> object:
            if kind in scalar:
                return unpack(scalar[kind])
            if kind == 8:
                return string()
            if kind == 9:
                item, n = unpack("<I"), unpack("<Q")
                return [value(item) for _ in range(n)]  # type: ignore[arg-type]
            raise ValueError(f"unknown GGUF value type {kind}")

        if f.read(4) != b"GGUF":
            raise ValueError(f"{path}: not a GGUF file")
        unpack("<I")
        unpack("<Q")
        return {string(): value(unpack("<I")) for _ in range(unpack("<Q"))}  # type: ignore[arg-type]


def _byte_decoder() -> dict[str, int]:
    printable = [*range(33, 127), *range(161, 173), *range(174, 256)]
    mapping, extra = {}, 256
    for b in range(256):
        if b in printable:
            mapping[chr(b)] = b
        else:
            mapping[chr(extra)] = b
            extra += 1
    return mapping


class ReferenceTokenizer:
    """llama.cpp tokenization semantics on top of the ``tokenizers`` package."""

    def __init__(self, metadata: dict[str, object]) -> None:
        if metadata.get("tokenizer.ggml.model") != "gpt2":
            raise ValueError("reference supports byte-level BPE ('gpt2') vocabularies only")
        tokens: list[str] = metadata["tokenizer.ggml.tokens"]  # type: ignore[assignment]
        merges: list[str] = metadata["tokenizer.ggml.merges"]  # type: ignore[assignment]
        types: list[int] = metadata.get("tokenizer.ggml.token_type") or [1] * len(tokens)  # type: ignore[assignment]
        pre = str(metadata.get("tokenizer.ggml.pre", "gpt2"))
        bpe = models.BPE(
            vocab={t: i for i, t in enumerate(tokens)},
            merges=[tuple(m.split(" ", 1)) for m in merges],
        )
        self._hf = HfTokenizer(bpe)
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        if pre in _SMOLLM_FAMILY:
            self._hf.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        elif pre in _GPT2_FAMILY:
            self._hf.pre_tokenizer = byte_level
        else:
            raise ValueError(f"reference does not support tokenizer.ggml.pre = {pre!r}")
        self._hf.decoder = decoders.ByteLevel()
        byte_of = _byte_decoder()
        self.specials = sorted(
            ((t, i, k == _CONTROL) for i, (t, k) in enumerate(zip(tokens, types, strict=True)) if k in (_CONTROL, _USER_DEFINED) and t),
            key=lambda s: (-len(s[0].encode()), s[1]),
        )
        special_ids = {i for _, i, _ in self.specials}
        self.control_ids = {i for _, i, c in self.specials if c}
        self.pieces = [
            t.encode() if i in special_ids or any(ch not in byte_of for ch in t) else bytes(byte_of[ch] for ch in t)
            for i, t in enumerate(tokens)
        ]
        self.bos_id = metadata.get("tokenizer.ggml.bos_token_id")
        self.eos_id = metadata.get("tokenizer.ggml.eos_token_id")
        self.add_bos = bool(metadata.get("tokenizer.ggml.add_bos_token", False)) and self.bos_id is not None
        self.add_eos = bool(metadata.get("tokenizer.ggml.add_eos_token", False)) and self.eos_id is not None

    @classmethod
    def from_gguf(cls, path: str | Path) -> ReferenceTokenizer:
        return cls(read_gguf_metadata(path))

    def partition(self, text: str, parse_special: bool) -> list[str | int]:
        """llama.cpp's special-token partition: longest token first, all occurrences."""
        fragments: list[str | int] = [text] if text else []
        for special, token_id, control in self.specials:
            if control and not parse_special:
                continue
            out: list[str | int] = []
            for frag in fragments:
                if isinstance(frag, int):
                    out.append(frag)
                    continue
                parts = frag.split(special)
                for k, part in enumerate(parts):
                    if k:
                        out.append(token_id)
                    if part:
                        out.append(part)
            fragments = out
        return fragments

    def encode(self, text: str, add_special: bool = False, parse_special: bool = False) -> list[int]:
        ids: list[int] = [self.bos_id] if add_special and self.add_bos else []  # type: ignore[list-item]
        for frag in self.partition(text, parse_special):
            ids.extend([frag] if isinstance(frag, int) else self._hf.encode(frag, add_special_tokens=False).ids)
        if add_special and self.add_eos:
            ids.append(self.eos_id)  # type: ignore[arg-type]
        return ids

    def count(self, text: str, parse_special: bool = False) -> int:
        return len(self.encode(text, parse_special=parse_special))

    def count_batch(self, texts: Sequence[str], parse_special: bool = False) -> list[int]:
        if not parse_special and not any(not c for _, _, c in self.specials):
            return [len(e.ids) for e in self._hf.encode_batch(list(texts), add_special_tokens=False)]
        return [self.count(t, parse_special) for t in texts]

    def decode(self, ids: Sequence[int], skip_special: bool = False) -> str:
        return self.decode_bytes(ids, skip_special).decode("utf-8", errors="replace")

    def decode_bytes(self, ids: Sequence[int], skip_special: bool = False) -> bytes:
        for i in ids:
            if not 0 <= i < len(self.pieces):
                raise ValueError(f"invalid token id {i}")
        return b"".join(self.pieces[i] for i in ids if not (skip_special and i in self.control_ids))


# --- fitting -------------------------------------------------------------------------------


@dataclass
class ReferenceTemplate:
    prefixes: dict[str, str]
    suffixes: dict[str, str]
    generation_prompt: str
    bos: str = ""

    def segment(self, role: str, content: str) -> str:
        if role not in self.prefixes:
            raise ValueError(f"the chat template has no role {role!r}")
        return self.prefixes[role] + content + self.suffixes.get(role, "")

    def render(self, messages: Sequence[tuple[str, str]], add_generation_prompt: bool = True) -> str:
        body = "".join(self.segment(r, c) for r, c in messages)
        return self.bos + body + (self.generation_prompt if add_generation_prompt else "")


@dataclass
class ReferenceFit:
    messages: list[int]
    chunks: list[int]
    prompt_tokens: int
    prompt: str


def fit(
    tok: ReferenceTokenizer,
    template: ReferenceTemplate,
    system: str,
    chunks: Sequence[str],
    messages: Sequence[tuple[str, str]],
    n_ctx: int,
    reserve: int,
    context_header: str = "\n\nRelevant context:\n",
    chunk_separator: str = "\n\n",
    max_chunk_tokens: int | None = None,
) -> ReferenceFit:
    """Same policy as ``Tokenizer.fit``: system, newest message, chunks by rank, older messages."""
    if n_ctx <= 0 or reserve < 0 or reserve >= n_ctx:
        raise ValueError("need n_ctx > 0 and 0 <= reserve < n_ctx")
    budget = n_ctx - reserve
    extra = int(tok.add_bos) + int(tok.add_eos)

    def count_prompt(text: str) -> int:
        return len(tok.encode(text, add_special=True, parse_special=True))

    def render(first: int, kept: int) -> str:
        content = system
        if kept:
            content += context_header + chunk_separator.join(chunks[:kept])
        return template.render([("system", content), *messages[first:]])

    used = count_prompt(template.render([("system", system)]))
    if used > budget:
        raise OverflowError(f"the system prompt alone needs {used} tokens but only {budget} are available")
    n = len(messages)
    first = n
    if n and used + (cost := count_prompt(template.segment(*messages[-1])) - extra) <= budget:
        used, first = used + cost, n - 1
    kept = chunk_tokens = 0
    limit = max_chunk_tokens if max_chunk_tokens is not None else float("inf")
    for i, chunk in enumerate(chunks):
        cost = tok.count(context_header if i == 0 else chunk_separator) + tok.count(chunk)
        if used + cost > budget or chunk_tokens + cost > limit:
            break
        used, chunk_tokens, kept = used + cost, chunk_tokens + cost, kept + 1
    if first == n - 1:
        while first > 0:
            cost = count_prompt(template.segment(*messages[first - 1])) - extra
            if used + cost > budget:
                break
            used, first = used + cost, first - 1
    while True:
        prompt = render(first, kept)
        total = count_prompt(prompt)
        if total <= budget:
            return ReferenceFit(list(range(first, n)), list(range(kept)), total, prompt)
        if first + 1 < n:
            first += 1
        elif kept:
            kept -= 1
        elif first < n:
            first = n
        else:
            raise OverflowError("the system prompt does not fit")


# --- chunking ------------------------------------------------------------------------------

_TERMINATORS = ".!?…"
_CLOSERS = "\"'»”’)]"
_FORCED, _SENTENCE, _PARAGRAPH = 0, 1, 2


@dataclass
class ReferenceChunk:
    text: str
    start: int
    end: int
    tokens: int


def _is_ws(c: str) -> bool:
    """Unicode White_Space, as Rust's ``char::is_whitespace`` (``str.isspace`` adds U+001C..1F)."""
    return c.isspace() and c not in "\x1c\x1d\x1e\x1f"


def _strip_span(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and _is_ws(text[a]):
        a += 1
    while b > a and _is_ws(text[b - 1]):
        b -= 1
    return a, b


def _units(text: str) -> list[tuple[int, int, int]]:
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        i += 1
        kind = None
        if c == "\n":
            kind = _SENTENCE
        elif c in _TERMINATORS:
            while i < n and (text[i] in _TERMINATORS or text[i] in _CLOSERS):
                i += 1
            if i < n and _is_ws(text[i]):
                kind = _SENTENCE
        if kind is None:
            continue
        newlines = int(c == "\n")
        while i < n and _is_ws(text[i]):
            newlines += text[i] == "\n"
            i += 1
        out.append((start, i, _PARAGRAPH if newlines >= 2 else kind))
        start = i
    if start < n:
        out.append((start, n, _PARAGRAPH))
    return out


def chunk(tok: ReferenceTokenizer, text: str, max_tokens: int, overlap_tokens: int = 0) -> list[ReferenceChunk]:
    """Same algorithm as ``Tokenizer.chunk`` (offsets are ``str`` indices)."""
    if max_tokens <= 0 or overlap_tokens < 0 or overlap_tokens >= max_tokens:
        raise ValueError("need max_tokens > 0 and 0 <= overlap_tokens < max_tokens")
    sized: list[tuple[int, int, int, int]] = []
    for start, end, brk in _units(text):
        n = tok.count(text[start:end])
        if n <= max_tokens:
            sized.append((start, end, brk, n))
            continue
        cuts = [start + k for k in range(1, end - start) if _is_ws(text[start + k]) and not _is_ws(text[start + k - 1])]
        pos = start
        for cut in [*cuts, end]:
            while pos < cut:
                stop, m = cut, tok.count(text[pos:cut])
                if m > max_tokens:
                    lo, hi = 1, cut - pos
                    stop, m = pos + 1, tok.count(text[pos : pos + 1])
                    while lo < hi:
                        mid = (lo + hi) // 2
                        k = tok.count(text[pos : pos + mid + 1])
                        if k <= max_tokens:
                            stop, m, lo = pos + mid + 1, k, mid + 1
                        else:
                            hi = mid
                sized.append((pos, stop, brk if stop == end else _FORCED, m))
                pos = stop
    chunks: list[ReferenceChunk] = []
    i = 0
    while i < len(sized):
        j, total = i, 0
        while j < len(sized) and total + sized[j][3] <= max_tokens:
            total += sized[j][3]
            j += 1
        j_fill = j = max(j, i + 1)
        if j < len(sized):
            best, acc = None, 0
            for k in range(i, j_fill):
                acc += sized[k][3]
                if acc * 2 >= total and (best is None or sized[k][2] >= best[0]):
                    best = (sized[k][2], k + 1)
            if best:
                j = best[1]

        def trimmed(a: int, b: int) -> tuple[int, int]:
            s, e = _strip_span(text, a, b)
            return (a, b) if s == e else (s, e)

        s, e = trimmed(sized[i][0], sized[j - 1][1])
        tokens = tok.count(text[s:e])
        while tokens > max_tokens and j > i + 1:
            j -= 1
            s, e = trimmed(sized[i][0], sized[j - 1][1])
            tokens = tok.count(text[s:e])
        if tokens > max_tokens:
            s, e, tokens = sized[i][0], sized[i][1], sized[i][3]
        chunks.append(ReferenceChunk(text[s:e], s, e, tokens))
        if j >= len(sized):
            break
        k, overlap = j, 0
        while k > i + 1 and overlap + sized[k - 1][3] <= overlap_tokens:
            overlap += sized[k - 1][3]
            k -= 1
        i = k
    return chunks


# --- streaming -----------------------------------------------------------------------------


class ReferenceStreamDecoder:
    """Same contract as ``clone_core.StreamDecoder``."""

    def __init__(self, tok: ReferenceTokenizer, stop: Sequence[str] = (), skip_special: bool = True) -> None:
        if any(not s for s in stop):
            raise ValueError("stop strings must not be empty")
        self.tok, self.stop, self.skip_special = tok, list(stop), skip_special
        self.matched_stop: str | None = None
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held = ""
        self._done = False

    @property
    def stopped(self) -> bool:
        return self.matched_stop is not None

    def feed(self, ids: Sequence[int]) -> str:
        data = self.tok.decode_bytes(ids, self.skip_special)
        if self.stopped or self._done:
            return ""
        self._held += self._utf8.decode(data, final=False)
        return self._release()

    def finish(self) -> str:
        if self.stopped or self._done:
            self._done = True
            return ""
        self._held += self._utf8.decode(b"", final=True)
        out = self._release()
        if not self.stopped:
            out, self._held = out + self._held, ""
        self._done = True
        return out

    def _release(self) -> str:
        hits = [(self._held.find(s), -len(s.encode()), s) for s in self.stop if s in self._held]
        if hits:
            pos, _, s = min(hits)
            out, self.matched_stop, self._held = self._held[:pos], s, ""
            return out
        for pos in range(len(self._held)):
            if any(s.startswith(self._held[pos:]) for s in self.stop):
                out, self._held = self._held[:pos], self._held[pos:]
                return out
        out, self._held = self._held, ""
        return out


# --- lexical index (BM25) ---------------------------------------------------------------

BM25_K1 = 1.2
BM25_B = 0.75
_STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "how", "in", "is", "it", "of", "on", "or", "that", "the", "this", "to", "was", "what", "when", "where", "which", "who", "why", "with", "do", "does", "i", "you", "we", "my", "our", "your", "can", "и", "в", "во", "не", "что", "он", "на", "я", "с", "со", "как", "а", "то", "все", "она", "так", "его", "но", "да", "ты", "к", "у", "же", "вы", "за", "бы", "по", "только", "ее", "мне", "было", "вот", "от", "меня", "еще", "нет", "о", "из", "ему", "теперь", "когда", "даже", "ну", "ли", "если", "уже", "или", "ни", "быть", "был", "него", "до", "вас", "нибудь", "опять", "уж", "вам", "ведь", "там", "потом", "себя", "ничего", "ей", "может", "они", "тут", "где", "есть", "надо", "ней", "для", "мы", "тебя", "их", "чем", "была", "сам", "чтобы", "без", "будто", "чего", "раз", "тоже", "себе", "под", "будет", "ж", "кто", "этот", "того", "потому", "этого", "какой", "ли", "мой", "сколько", "какая", "какие", "какое"]
)


class ReferenceAnalyzer:
    """Lower-case ``\\w+`` words, ё folded to е, stop words dropped, Snowball-stemmed by script."""

    def __init__(self) -> None:
        import snowballstemmer  # 2.2.0: the Snowball release the Rust stemmers were generated from

        self._russian = snowballstemmer.stemmer("russian")
        self._english = snowballstemmer.stemmer("english")

    def terms(self, text: str) -> list[str]:
        import re

        out = []
        for word in re.findall(r"\w+", text.lower().replace("ё", "е")):
            if word in _STOPWORDS:
                continue
            if any("а" <= c <= "я" for c in word):
                out.append(self._russian.stemWord(word))
            elif word.isalpha():
                out.append(self._english.stemWord(word))
            else:
                out.append(word)
        return out


class ReferenceLexicalIndex:
    """BM25 over chunks grouped by document, recomputed from scratch on every search."""

    def __init__(self) -> None:
        self.analyzer = ReferenceAnalyzer()
        self._chunks: dict[str, tuple[str, list[str]]] = {}  # chunk_id -> (doc_id, terms)

    def add(self, doc_id: str, chunk_ids: Sequence[str], texts: Sequence[str]) -> None:
        if len(chunk_ids) != len(texts) or len(set(chunk_ids)) != len(chunk_ids):
            raise ValueError("chunk_ids and texts must have the same length and unique ids")
        self.remove(doc_id)
        for chunk_id, text in zip(chunk_ids, texts, strict=True):
            self._chunks[chunk_id] = (doc_id, self.analyzer.terms(text))

    def remove(self, doc_id: str) -> int:
        doomed = [c for c, (d, _) in self._chunks.items() if d == doc_id]
        for chunk_id in doomed:
            del self._chunks[chunk_id]
        return len(doomed)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        import math
        from collections import Counter

        n = len(self._chunks)
        if k <= 0 or n == 0:
            return []
        avg = sum(len(t) for _, t in self._chunks.values()) / n
        scores: dict[str, float] = {}
        for term in sorted(set(self.analyzer.terms(query))):
            holders = {c: Counter(t)[term] for c, (_, t) in self._chunks.items() if term in t}
            if not holders:
                continue
            idf = math.log(1 + (n - len(holders) + 0.5) / (len(holders) + 0.5))
            for chunk_id, tf in holders.items():
                length = len(self._chunks[chunk_id][1])
                norm = BM25_K1 * (1 - BM25_B + BM25_B * length / avg) if avg else BM25_K1
                scores[chunk_id] = scores.get(chunk_id, 0.0) + idf * tf * (BM25_K1 + 1) / (tf + norm)
        return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


# --- request scheduler (batching) -------------------------------------------------------

STRIDE = 720_720  # lcm(1..16): an admission advances its channel's pass by STRIDE // weight (exact for 1..16)
MAX_WEIGHT = 1000


class QueueFullError(Exception):
    """The bounded queue already holds ``max_waiting`` requests (the caller answers 503)."""


@dataclass(frozen=True)
class StepPlan:
    decode: list[int]
    prefill: list[tuple[int, int]]
    group: int = 0


@dataclass(frozen=True)
class SchedulerStats:
    waiting: int
    waiting_by_channel: dict[str, int]
    running: int
    prefilling: int
    admitted_by_channel: dict[str, int]
    rejected: int
    group_switches: int
    preempted: int


class Scheduler:
    """Same contract as ``clone_core.Scheduler``: weighted fair admission from a bounded queue into
    ``max_running`` slots, and a per-step token plan with chunked prefill.

    Fairness is stride scheduling: each free slot goes to the channel with waiting requests whose
    pass would be smallest after the admission (``pass + STRIDE // weight``; ties: bigger weight, then
    channel name), FIFO within a channel. A channel whose queue was empty restarts at no less than the
    smallest pass of the channels with waiting requests (the last admitted channel's pass when none
    wait), so idling banks no credit and a busy high-weight channel cannot starve a low-weight one.

    A step plans requests of one group (the engine's adapter setting) only; the running groups take
    steps in turn: the smallest group key above the last step's, else the smallest.

    ``preempt`` sends a running request back to the front of its channel's queue; its re-admission
    is not charged again. ``plan(prompt_budget)`` caps the prompt tokens of a step that decodes.
    """

    def __init__(
        self, *, max_running: int, max_waiting: int, step_tokens: int, channel_weights: dict[str, int]
    ) -> None:
        for name, value in (
            ("max_running", max_running),
            ("max_waiting", max_waiting),
            ("step_tokens", step_tokens),
        ):
            if value < 1:
                raise ValueError(f"{name} must be > 0, got {value}")
        if step_tokens < max_running:
            raise ValueError(f"step_tokens ({step_tokens}) must be >= max_running ({max_running})")
        if not channel_weights:
            raise ValueError("channel_weights must name at least one channel")
        for channel, weight in channel_weights.items():
            if not 1 <= weight <= MAX_WEIGHT:
                raise ValueError(f"weight of channel {channel!r} must be in 1..={MAX_WEIGHT}, got {weight}")
        self.max_running, self.max_waiting, self.step_tokens = max_running, max_waiting, step_tokens
        self.channel_weights = dict(channel_weights)
        self._queues: dict[str, list[tuple[int, int, int, bool]]] = {
            c: [] for c in self.channel_weights
        }  # FIFO of (id, prompt, group, resumed)
        self._pass = dict.fromkeys(self.channel_weights, 0)  # virtual time a channel has used, in 1/STRIDE units
        self._last = 0  # the pass of the channel admitted last
        self._waiting: dict[int, str] = {}  # id -> channel
        self._running: dict[int, int] = {}  # id -> prompt tokens left to prefill, in admission order
        self._group: dict[int, int] = {}  # running id -> group
        self._channel: dict[int, str] = {}  # running id -> channel
        self._preempted = 0
        self._last_group: int | None = None
        self._switches = 0
        self._admitted = dict.fromkeys(self.channel_weights, 0)
        self._rejected = 0

    def submit(self, request_id: int, channel: str, prompt_tokens: int, group: int = 0) -> None:
        if not 0 <= group <= 0xFFFF_FFFF:
            raise ValueError(f"group must be in 0..={0xFFFF_FFFF}, got {group}")
        if channel not in self.channel_weights:
            raise ValueError(f"unknown channel {channel!r}")
        if request_id in self._waiting or request_id in self._running:
            raise ValueError(f"request {request_id} is already scheduled")
        if prompt_tokens < 1:
            raise ValueError(f"prompt_tokens must be > 0, got {prompt_tokens}")
        if len(self._waiting) >= self.max_waiting:
            self._rejected += 1
            raise QueueFullError(f"the queue is full ({self.max_waiting} requests waiting)")
        if not self._queues[
            channel
        ]:  # waking up: restart at the current minimum, no credit banked while idle
            floor = min((self._pass[c] for c, q in self._queues.items() if q), default=self._last)
            self._pass[channel] = max(self._pass[channel], floor)
        self._queues[channel].append((request_id, prompt_tokens, group, False))
        self._waiting[request_id] = channel

    def admit(self) -> list[int]:
        admitted = []
        while len(self._running) < self.max_running and self._waiting:
            channel = min(
                (c for c, q in self._queues.items() if q),
                key=lambda c: (self._pass[c] + STRIDE // self.channel_weights[c], -self.channel_weights[c], c),
            )
            request_id, prompt_tokens, group, resumed = self._queues[channel].pop(0)
            del self._waiting[request_id]
            if not resumed:
                self._pass[channel] += STRIDE // self.channel_weights[channel]
                self._admitted[channel] += 1
            self._last = self._pass[channel]
            self._running[request_id] = prompt_tokens
            self._group[request_id] = group
            self._channel[request_id] = channel
            admitted.append(request_id)
        return admitted

    def set_remaining(self, request_id: int, n_tokens: int) -> None:
        if not self._running.get(request_id):
            raise ValueError(f"request {request_id} is not prefilling")
        if n_tokens < 1:
            raise ValueError(f"n_tokens must be > 0, got {n_tokens}")
        self._running[request_id] = n_tokens

    def preempt(self, request_id: int, prompt_tokens: int) -> None:
        if request_id not in self._running:
            raise ValueError(f"request {request_id} is not running")
        if prompt_tokens < 1:
            raise ValueError(f"prompt_tokens must be > 0, got {prompt_tokens}")
        if len(self._waiting) >= self.max_waiting:
            raise QueueFullError(f"the queue is full ({self.max_waiting} requests waiting)")
        del self._running[request_id]
        group = self._group.pop(request_id)
        channel = self._channel.pop(request_id)
        self._queues[channel].insert(0, (request_id, prompt_tokens, group, True))
        self._waiting[request_id] = channel
        self._preempted += 1

    def plan(self, prompt_budget: int | None = None) -> StepPlan:
        if prompt_budget is not None and prompt_budget < 0:
            raise ValueError(f"prompt_budget must be >= 0, got {prompt_budget}")
        groups = set(self._group.values())
        if not groups:
            return StepPlan([], [], self._last_group or 0)
        last = self._last_group
        group = min((g for g in groups if last is not None and g > last), default=min(groups))
        if last is not None and group != last:
            self._switches += 1
        self._last_group = group
        decode = [i for i, left in self._running.items() if left == 0 and self._group[i] == group]
        budget = self.step_tokens - len(decode)
        if decode and prompt_budget is not None:
            budget = min(budget, max(prompt_budget, 1))
        prefill = []
        for request_id, left in self._running.items():
            if budget == 0:
                break
            if left and self._group[request_id] == group:
                n = min(left, budget)
                prefill.append((request_id, n))
                self._running[request_id] -= n
                budget -= n
        return StepPlan(decode, prefill, group)

    def finish(self, request_id: int) -> None:
        if request_id not in self._running:
            raise ValueError(f"request {request_id} is not running")
        del self._running[request_id]
        del self._group[request_id]
        del self._channel[request_id]

    def cancel(self, request_id: int) -> bool:
        if request_id in self._running:
            del self._running[request_id]
            del self._group[request_id]
            del self._channel[request_id]
            return True
        channel = self._waiting.pop(request_id, None)
        if channel is None:
            return False
        self._queues[channel] = [r for r in self._queues[channel] if r[0] != request_id]
        return True

    def stats(self) -> SchedulerStats:
        return SchedulerStats(
            waiting=len(self._waiting),
            waiting_by_channel={c: len(q) for c, q in self._queues.items()},
            running=len(self._running),
            prefilling=sum(1 for left in self._running.values() if left),
            admitted_by_channel=dict(self._admitted),
            rejected=self._rejected,
            group_switches=self._switches,
            preempted=self._preempted,
        )
