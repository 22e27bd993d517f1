"""Single-stream decode speed and time to first token: the agent's OpenAI API vs llama-cpp-python.

Both sides run the same GGUF, the same chat prompt (persona + question), greedy decoding and the
same thread count, one after the other in the same run. The agent is a real process reached over
loopback with the official ``openai`` client; "direct" calls ``Llama.create_chat_completion``
in this process. Prints a Markdown table; ``--write`` puts it into docs/benchmarks.md.

    .venv/bin/python bench/engine.py [--runs 5] [--max-tokens 128] [--write]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import httpx
import openai
import yaml

if TYPE_CHECKING:
    import llama_cpp

ROOT = Path(__file__).resolve().parents[1]
MODEL = Path(os.environ.get("AICLONE_TEST_MODEL", ROOT / "models/base/SmolLM2-135M-Instruct.Q4_1.gguf"))
PERSONA = "You are a helpful assistant who explains things in detail."
QUESTIONS = [
    "Explain how a steam engine works, step by step.",
    "Describe the water cycle in detail.",
    "Write a story about a lighthouse keeper.",
]
N_CTX = 2048
THREADS = os.cpu_count() or 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def measure(stream_chunks) -> tuple[float, float, int]:
    """(time to first token s, decode tokens/s after the first, tokens) for one streamed answer."""
    start = time.perf_counter()
    first = None
    tokens = 0
    for is_token in stream_chunks:
        if not is_token:
            continue
        tokens += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    rate = (tokens - 1) / (end - first) if first and tokens > 1 and end > first else 0.0
    return (first or end) - start, rate, tokens


class Direct:
    """llama-cpp-python in this process, the way its README streams a chat."""

    def __init__(self) -> None:
        import llama_cpp

        self.llama = llama_cpp.Llama(model_path=str(MODEL), n_ctx=N_CTX, n_threads=THREADS, n_batch=512, verbose=False)

    def run(self, question: str, max_tokens: int) -> tuple[float, float, int]:
        messages: list[llama_cpp.ChatCompletionRequestMessage] = [
            {"role": "system", "content": PERSONA},
            {"role": "user", "content": question},
        ]
        # llama-cpp-python types the result as either shape: with stream=True it is the chunk iterator
        stream = cast(
            "Iterator[llama_cpp.CreateChatCompletionStreamResponse]",
            self.llama.create_chat_completion(messages, stream=True, max_tokens=max_tokens, temperature=0.0, seed=1),
        )
        return measure(bool(c["choices"][0]["delta"].get("content")) for c in stream)


class Agent:
    """A real agent process, reached over loopback with the official openai client."""

    def __init__(self) -> None:
        home = Path(tempfile.mkdtemp(prefix="aiclone-bench-"))
        config = home / "config.yaml"
        config.write_text(yaml.safe_dump({
            "clone": {"system_prompt": PERSONA},
            "model": {"base_model_path": str(MODEL), "n_ctx": N_CTX, "n_threads": THREADS},
        }))
        port = free_port()
        env = {**os.environ, "AICLONE_CONFIG": str(config), "AICLONE_DATA_DIR": str(home / "data"), "AICLONE_PORT": str(port)}
        self.proc = subprocess.Popen([sys.executable, "-m", "aiclone_agent", "serve"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="local", max_retries=0)

    def run(self, question: str, max_tokens: int) -> tuple[float, float, int]:
        stream = self.client.chat.completions.create(
            model="my-clone", messages=[{"role": "user", "content": question}],
            stream=True, max_tokens=max_tokens, temperature=0.0, seed=1,
        )
        return measure(bool(c.choices and c.choices[0].delta.content) for c in stream)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def summarize(name: str, results: list[tuple[float, float, int]]) -> str:
    ttft = [r[0] * 1000 for r in results]
    rate = [r[1] for r in results]
    tokens = sum(r[2] for r in results) / len(results)
    return (f"| {name} | {statistics.median(ttft):.1f} | {max(ttft):.1f} | {statistics.median(rate):.1f} | "
            f"{min(rate):.1f} | {tokens:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()

    direct, agent = Direct(), Agent()
    direct_results, agent_results = [], []
    try:
        direct.run(QUESTIONS[0], 8)  # warm-up, not counted
        agent.run(QUESTIONS[0], 8)
        for i in range(args.runs):  # interleaved, so background load hits both sides alike
            question = QUESTIONS[i % len(QUESTIONS)]
            direct_results.append(direct.run(question, args.max_tokens))
            agent_results.append(agent.run(question, args.max_tokens))
    finally:
        agent.close()
    lines = [
        f"Model {MODEL.name}, {THREADS} threads, n_ctx {N_CTX}, greedy, max_tokens {args.max_tokens}, "
        f"{args.runs} runs each, interleaved; {platform.processor() or platform.machine()}, {os.cpu_count()} cores.",
        "",
        "| path | TTFT p50 ms | TTFT max ms | decode tok/s p50 | decode tok/s min | tokens/answer |",
        "|---|---|---|---|---|---|",
        summarize("llama-cpp-python direct (create_chat_completion, stream)", direct_results),
        summarize("agent OpenAI API (openai client, SSE over loopback)", agent_results),
        "",
        "Both paths run the same GGUF with the same thread count and greedy decoding, interleaved in one run. "
        "The agent adds its HTTP/SSE hop, prompt fitting in the Rust core and the Rust stream decoder.",
    ]
    table = "\n".join(lines)
    print(table)
    if args.write:
        write_section("## Engine (bench/engine.py)", table)


def write_section(heading: str, body: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nNumbers from real runs on the project's CI-sized machine.\n"
    section = f"{heading}\n\n{body.rstrip()}\n"
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + ("\n" + text[end + 1:] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    main()
