"""Benchmark of the Rust core (clone_core) against its pure-Python reference, same run.

    python bench/rust_core.py [--model PATH] [--write-docs]

Prints a Markdown table; with --write-docs, replaces the "## Rust core (bench/rust_core.py)"
section of docs/benchmarks.md with it (other sections are left alone).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import TypedDict

import clone_core

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the pure-Python reference is a test oracle, kept with the tests

from tests.rust_core import reference  # noqa: E402

DEFAULT_MODEL = ROOT / "models/base/SmolLM2-135M-Instruct.Q4_1.gguf"
HEADING = "## Rust core (bench/rust_core.py)"
ROLES = ("system", "user", "assistant")


class FitBudget(TypedDict):
    """The window arguments every ``fit`` call below shares."""

    n_ctx: int
    reserve: int


RU = "Съешь же ещё этих мягких французских булок, да выпей чаю. Ёжик вышел из тумана! Что дальше? Посмотрим."
EN = "The quick brown fox jumps over the lazy dog. It's 42 degrees today! Why not? Let us see what happens next."


def mixed_text(n_bytes: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    words = (RU + " " + EN).split()
    parts, size = [], 0
    while size < n_bytes:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(5, 25))) + rng.choice(".!?")
        sep = "\n\n" if rng.random() < 0.15 else " "
        parts.append(sentence + sep)
        size += len(sentence.encode()) + len(sep)
    return "".join(parts)


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, round(0.99 * (len(s) - 1)))]


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def simulate_scheduler(scheduler_cls, steps: int, seed: int = 5) -> tuple[int, float, list]:
    """An engine's decode loop around the scheduler: 8 slots, n_batch 512, four channels; each step
    maybe an arrival (prompt of 20-600 tokens), admit, plan, and finishing the sequences that decoded
    their answer (16-200 tokens); a full queue rejects. Returns (scheduler calls, seconds spent inside
    them, plans); the loop's own bookkeeping is not counted."""
    rng = random.Random(seed)
    weights = {"owner": 8, "web": 4, "telegram": 2, "api": 1}
    sched = scheduler_cls(max_running=8, max_waiting=32, step_tokens=512, channel_weights=weights)
    full = clone_core.QueueFullError if scheduler_cls is clone_core.Scheduler else reference.QueueFullError
    channels = ["owner", "web", "web", "telegram", "telegram", "api", "api", "api"]
    # about 0.08 arrivals per step: the service rate of 8 slots with ~110-token answers, so the queue
    # comes and goes and now and then overflows
    script = [
        [(rng.choice(channels), rng.randint(20, 600), rng.randint(16, 200))] if rng.random() < 0.08 else []
        for _ in range(steps)
    ]
    answer: dict[int, int] = {}
    plans, calls, spent, next_id = [], 0, 0.0, 0
    clock = time.perf_counter
    for arrivals in script:
        for channel, prompt, length in arrivals:
            next_id += 1
            t0 = clock()
            try:
                sched.submit(next_id, channel, prompt)
                answer[next_id] = length
            except full:
                pass
            spent += clock() - t0
        t0 = clock()
        sched.admit()
        plan = sched.plan()
        decode, prefill = plan.decode, plan.prefill
        spent += clock() - t0
        calls += len(arrivals) + 2
        for request_id in decode:
            answer[request_id] -= 1
            if not answer[request_id]:
                t0 = clock()
                sched.finish(request_id)
                spent += clock() - t0
                calls += 1
        plans.append((decode, prefill))
    return calls, spent, plans


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.environ.get("AICLONE_TEST_MODEL", str(DEFAULT_MODEL)))
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()

    tok = clone_core.Tokenizer.from_gguf(args.model)
    ref = reference.ReferenceTokenizer.from_gguf(args.model)
    prefixes = {r: f"<|im_start|>{r}\n" for r in ROLES}
    suffixes = dict.fromkeys(ROLES, "<|im_end|>\n")
    template = clone_core.ChatTemplate(prefixes, suffixes, "<|im_start|>assistant\n")
    ref_template = reference.ReferenceTemplate(prefixes, suffixes, "<|im_start|>assistant\n")

    # Fitting: 50 messages, ~8k tokens, 4 retrieved chunks, n_ctx 8192.
    text = mixed_text(200_000, seed=1)
    rng = random.Random(3)
    messages, pos = [], 0
    for i in range(50):
        n = rng.randint(150, 420)
        messages.append((ROLES[1 + i % 2], text[pos : pos + n]))
        pos += n
    chunks = [text[pos + k * 800 : pos + (k + 1) * 800] for k in range(4)]
    system = "Ты — цифровой клон владельца. Answer in the user's language, cite sources."
    conv_tokens = sum(tok.count(c) for _, c in messages)
    call: FitBudget = {"n_ctx": 8192, "reserve": 512}
    fit = tok.fit(template, system, chunks, messages, **call)
    expected = reference.fit(ref, ref_template, system, chunks, messages, **call)
    assert (fit.messages, fit.chunks, fit.prompt_tokens) == (
        expected.messages,
        expected.chunks,
        expected.prompt_tokens,
    )
    warm = timed(lambda: tok.fit(template, system, chunks, messages, **call), 300)

    def cold() -> None:
        tok.clear_cache()
        tok.fit(template, system, chunks, messages, **call)

    cold_ms = timed(cold, 30)
    ref_ms = timed(lambda: reference.fit(ref, ref_template, system, chunks, messages, **call), 15)

    # Chunking: 5 MB of mixed RU/EN text.
    doc = mixed_text(5 * 1024 * 1024, seed=2)
    mb = len(doc.encode()) / 1e6
    tok.clear_cache()
    t0 = time.perf_counter()
    rust_chunks = tok.chunk(doc, 256, 32)
    chunk_rust = mb / (time.perf_counter() - t0)
    sample = doc[:300_000]
    t0 = time.perf_counter()
    reference.chunk(ref, sample, 256, 32)
    chunk_ref = len(sample.encode()) / 1e6 / (time.perf_counter() - t0)

    # Batch counting: 20k lines.
    lines = [line for line in mixed_text(3_000_000, seed=4).replace(". ", ".\n").split("\n") if line][:20_000]
    tok.clear_cache()
    t0 = time.perf_counter()
    counts = tok.count_batch(lines)
    batch_rust = sum(counts) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    ref_counts = ref.count_batch(lines)
    batch_ref = sum(ref_counts) / (time.perf_counter() - t0)
    assert counts == ref_counts

    # BM25: index the chunks of the 5 MB document, then search with words taken from it.
    chunk_ids = [f"c{i}" for i in range(len(rust_chunks))]
    chunk_texts = [c.text for c in rust_chunks]
    t0 = time.perf_counter()
    lexical = clone_core.LexicalIndex()
    for first in range(0, len(chunk_ids), 1000):
        lexical.add(f"d{first}", chunk_ids[first : first + 1000], chunk_texts[first : first + 1000])
    bm25_build_rust = time.perf_counter() - t0
    ref_lexical = reference.ReferenceLexicalIndex()
    t0 = time.perf_counter()
    for first in range(0, len(chunk_ids), 1000):
        ref_lexical.add(f"d{first}", chunk_ids[first : first + 1000], chunk_texts[first : first + 1000])
    bm25_build_ref = time.perf_counter() - t0
    words = list(re.findall(r"\w{5,}", doc[:200_000]))
    queries = [" ".join(rng.sample(words, 3)) for _ in range(60)]
    for query in queries[:3]:
        assert [c for c, _ in lexical.search(query, 10)] == [c for c, _ in ref_lexical.search(query, 10)]
    bm25_rust = []
    for query in queries:
        t0 = time.perf_counter()
        lexical.search(query, 20)
        bm25_rust.append((time.perf_counter() - t0) * 1000)
    bm25_ref = []
    for query in queries[:5]:
        t0 = time.perf_counter()
        ref_lexical.search(query, 20)
        bm25_ref.append((time.perf_counter() - t0) * 1000)
    b50, b99 = percentiles(bm25_rust)
    rb50 = statistics.median(bm25_ref)

    # Scheduler: one simulated decode loop, same decisions asserted.
    sched_calls, sched_rust_s, rust_plans = simulate_scheduler(clone_core.Scheduler, 20_000)
    _, sched_ref_s, ref_plans = simulate_scheduler(reference.Scheduler, 20_000)
    assert rust_plans == ref_plans
    sched_rust, sched_ref = sched_calls / sched_rust_s, sched_calls / sched_ref_s

    p50, p99 = percentiles(warm)
    c50, c99 = percentiles(cold_ms)
    r50, r99 = percentiles(ref_ms)
    table = f"""{HEADING}

Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()};
model vocabulary: `{Path(args.model).name}` ({tok.vocab_size} tokens). Reference: `tests/rust_core/reference.py`
(pure Python on the `tokenizers` package, same vocabulary and policies; results asserted equal).

| Benchmark | Rust core | Python reference | Speed-up | Target |
|---|---|---|---|---|
| Fit 50 messages / {conv_tokens} tokens + 4 chunks into n_ctx 8192, p50 (history memoised, as on every new turn) | {p50:.3f} ms | {r50:.1f} ms | {r50 / p50:.0f}x | |
| Fit, p99 (memoised) | {p99:.3f} ms | {r99:.1f} ms | {r99 / p99:.0f}x | <= 1 ms, >= 5x |
| Fit, p50 / p99 with the segment-count memo cleared before each call (pre-token BPE memo warm) | {c50:.2f} / {c99:.2f} ms | {r50:.1f} / {r99:.1f} ms | {r50 / c50:.0f}x | |
| Chunking {mb:.1f} MB mixed RU/EN (256 tokens, overlap 32; {len(rust_chunks)} chunks) | {chunk_rust:.1f} MB/s | {chunk_ref:.2f} MB/s | {chunk_rust / chunk_ref:.0f}x | >= 20 MB/s |
| Batch token counting, {len(lines)} lines (`count_batch`, rayon) | {batch_rust / 1e6:.2f} M tokens/s | {batch_ref / 1e6:.2f} M tokens/s | {batch_rust / batch_ref:.1f}x | |
| BM25 index build, {len(chunk_ids)} chunks of the 5 MB text (RU/EN Snowball stemming) | {bm25_build_rust:.2f} s | {bm25_build_ref:.2f} s | {bm25_build_ref / bm25_build_rust:.0f}x | |
| BM25 search, top 20 of {len(chunk_ids)} chunks, p50 / p99 (reference: p50 of 5) | {b50:.2f} / {b99:.2f} ms | {rb50:.0f} ms | {rb50 / b50:.0f}x | |
| Scheduler inside a simulated decode loop (8 slots, n_batch 512, 4 channels; submit / admit / plan / finish; time inside the calls) | {sched_rust / 1e3:.0f} k calls/s ({sched_rust_s / 20_000 * 1e6:.1f} us per step) | {sched_ref / 1e3:.0f} k calls/s ({sched_ref_s / 20_000 * 1e6:.1f} us per step) | {sched_rust / sched_ref:.1f}x | |

Fit kept {len(fit.messages)} messages and {len(fit.chunks)} chunks, prompt {fit.prompt_tokens} tokens (exact).
"""
    print(table)
    if args.write_docs:
        path = ROOT / "docs/benchmarks.md"
        old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
        pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
        new = (
            pattern.sub(lambda _: table + "\n", old)
            if pattern.search(old)
            else old.rstrip("\n") + "\n\n" + table
        )
        path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
