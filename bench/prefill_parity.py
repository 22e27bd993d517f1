"""Prefill parity: how long the agent's engine takes to read one long prompt against llama-server.

Alternates, in one run and on the same token ids (the ~3,000-token text of bench/batching.py):
  A. llama-server over HTTP (``/completion``, ``cache_prompt`` off, one token to generate): the wall
     time of the request and the server's own ``prompt_ms``;
  B. the agent's ``LlamaContext.decode`` in n_batch chunks, logits for the last token only (llama.cpp
     as the agent drives it, without the engine around it);
  C. the agent's ``LlamaBatchEngine`` in-process: scheduler, prefix cache, decode loop, sampling,
     time to the first token (a new first word each time: nothing is taken from the prefix cache).
Each repetition runs A, B and C back to back, so background load hits all three alike; the ratios
B/A and C/A per repetition, their median and spread are what to read on a shared machine.

    .venv/bin/python bench/prefill_parity.py [--reps 4] [--tokens 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batching import N_BATCH, N_CTX, PARALLEL, llama_server_path, long_text
from engine import MODEL, THREADS, free_port

from aiclone_agent.engine.base import SamplingParams
from aiclone_agent.engine.llama_batch.engine import LlamaBatchEngine


def start_server(log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        str(llama_server_path()),
        *("-m", str(MODEL), "-c", str(N_CTX), "--parallel", str(PARALLEL), "-t", str(THREADS)),
        *(
            "-b",
            str(N_BATCH),
            "-ub",
            str(N_BATCH),
            "--kv-unified",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ),
    ]
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while proc.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"llama-server exited: {log.read_text()[-2000:]}")


async def run(reps: int, n_tokens: int) -> None:
    if not llama_server_path().exists():
        sys.exit("llama-server is not built yet: run bench/batching.py --build-llama-server once")
    log = Path(tempfile.mkdtemp(prefix="prefill-parity-")) / "llama-server.log"
    server, url = start_server(log)
    engine = LlamaBatchEngine.load(
        MODEL,
        n_ctx=N_CTX,
        n_batch=N_BATCH,
        parallel=PARALLEL,
        n_gpu_layers=0,
        n_threads=THREADS,
        max_queue=64,
        channel_weights={"owner": 8, "api": 1},
        reason="bench",
    )
    context = engine._context
    tokens = engine._tokenize(long_text())[:n_tokens]
    spare_seq = context.shape.n_seq - 1  # a slot the engine only uses when every other one is taken
    times: dict[str, list[float]] = {"A": [], "A prompt_ms": [], "B": [], "C": []}

    def raw_decode(_model: object, _ctx: object) -> float:
        context.seq_rm(spare_seq)
        began = time.perf_counter()
        for start in range(0, len(tokens), N_BATCH):
            chunk = tokens[start : start + N_BATCH]
            last = len(tokens) - 1
            context.decode([(t, start + i, spare_seq, start + i == last) for i, t in enumerate(chunk)])
        elapsed = time.perf_counter() - began
        context.seq_rm(spare_seq)
        return elapsed

    try:
        async with httpx.AsyncClient(timeout=1200) as client:
            body = {"prompt": tokens[:32], "n_predict": 1, "cache_prompt": False}
            (await client.post(f"{url}/completion", json=body)).raise_for_status()  # warm-up, not counted
            await engine.run_in_engine(raw_decode)
            for rep in range(reps):
                began = time.perf_counter()
                body = {"prompt": tokens, "n_predict": 1, "cache_prompt": False, "temperature": 0}
                answer = (await client.post(f"{url}/completion", json=body)).raise_for_status().json()
                times["A"].append(time.perf_counter() - began)
                times["A prompt_ms"].append(answer["timings"]["prompt_ms"] / 1000)
                times["B"].append(await engine.run_in_engine(raw_decode))
                prompt = f"Run {rep} at {time.time_ns()}. " + engine.tokenizer.decode(tokens[1:])
                began = time.perf_counter()
                stream = engine.generate(
                    prompt, SamplingParams(max_tokens=1, temperature=0.0), f"parity-{rep}"
                )
                async for _ in stream:
                    break
                times["C"].append(time.perf_counter() - began)
                await stream.aclose()
                print(f"rep {rep}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
    finally:
        await engine.close()
        server.terminate()
        server.wait()
    print(
        f"\n{len(tokens)} prompt tokens, {THREADS} threads, n_batch {N_BATCH}, {reps} reps, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    for name in ("B", "C"):
        ratios = [b / a for a, b in zip(times["A"], times[name], strict=True)]
        print(
            f"{name}/A: median {statistics.median(ratios):.3f}, min {min(ratios):.3f}, max {max(ratios):.3f} "
            f"({', '.join(f'{r:.3f}' for r in ratios)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=3000, help="cut the long text to this many tokens")
    args = parser.parse_args()
    asyncio.run(run(args.reps, args.tokens))


if __name__ == "__main__":
    main()
