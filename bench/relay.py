"""The relay's own cost: an agent reached directly vs through the gateway and its agent link.

Both sides are real processes on loopback speaking the OpenAI streaming API (SSE): the agent
(``create_app`` around ``InstantEngine``, an engine that emits tokens instantly, so only HTTP,
the link and the gateway are measured) and the gateway (``python -m aiclone_gateway serve``)
with the agent linked to it. Measured: time to first chunk (TTFC), the interval between chunks
of one long stream, and chunks/s through the one link with many concurrent streams.
Prints a Markdown table; ``--write`` puts it into docs/benchmarks.md.

    .venv/bin/python bench/relay.py [--requests 200] [--concurrency 50] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator
from pathlib import Path

import httpx
import yaml
from benchmarks_doc import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "local-inference"), str(ROOT / "backend"), str(ROOT / "wire")]

from aiclone_agent.engine.base import (  # noqa: E402
    ChatTemplate,
    EngineClient,
    EngineInfo,
    GenerationChunk,
    SamplingParams,
)

HEADING = "## Relay (bench/relay.py)"


MODEL = Path(os.environ.get("AICLONE_TEST_MODEL", ROOT / "models/base/SmolLM2-135M-Instruct.Q4_1.gguf"))


class InstantEngine(EngineClient):
    """Emits ``max_tokens`` one-word chunks without computing anything (bench only).

    Prompts are still fitted with the real model's tokenizer (the Rust core), as in production.
    """

    info = EngineInfo(
        backend="llama_cpp",
        reason="bench: instant engine",
        model_name="instant",
        model_path="",
        n_ctx=1_000_000,
        n_gpu_layers=0,
    )
    chat_template = ChatTemplate(
        source="{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}assistant:",
        bos_token="",
        eos_token="",
    )

    def __init__(self) -> None:
        import clone_core

        self.tokenizer = clone_core.Tokenizer.from_gguf(MODEL)

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text, parse_special=True)

    async def generate(
        self, prompt: str, params: SamplingParams, request_id: str, channel: str = "api"
    ) -> AsyncGenerator[GenerationChunk, None]:
        prompt_tokens = self.count_tokens(prompt)
        for i in range(1, params.max_tokens + 1):
            yield GenerationChunk("tok ", prompt_tokens, i, "length" if i == params.max_tokens else None)
            await asyncio.sleep(0)  # a real engine hands control back between tokens too

    async def abort(self, request_id: str) -> None:
        return None

    async def check_health(self) -> None:
        return None

    async def close(self) -> None:
        return None


def serve_agent(config: str, data_dir: str, port: int) -> None:
    import uvicorn

    from aiclone_agent.app import create_app
    from aiclone_agent.core.config import ConfigStore, EnvSettings

    env = EnvSettings(config=Path(config), data_dir=Path(data_dir), port=port)
    uvicorn.run(
        create_app(env, ConfigStore(env.config), InstantEngine()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


class Stack:
    """Gateway + agent processes, the agent linked; an API key for the gateway."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="aiclone-relay-bench-"))
        self.gateway_port, self.agent_port = free_port(), free_port()
        self.procs: list[subprocess.Popen] = []
        self.key = ""

    def start(self) -> Stack:
        env = {
            **os.environ,
            "AICLONE_GATEWAY_HOST": "127.0.0.1",
            "AICLONE_GATEWAY_PORT": str(self.gateway_port),
            "AICLONE_GATEWAY_DATA_DIR": str(self.home / "gateway"),
            "AICLONE_GATEWAY_LOG_LEVEL": "warning",
        }
        log = (self.home / "processes.log").open("ab")
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "aiclone_gateway", "serve"], env=env, stdout=log, stderr=log
            )
        )
        wait_healthy(self.gateway_url, self.procs[-1])
        with httpx.Client(base_url=self.gateway_url) as http:
            credentials = {"email": "bench@example.test", "password": "bench password"}
            http.post("/api/auth/register", json=credentials)
            access = http.post("/api/auth/login", json=credentials).json()["access_token"]
            auth = {"Authorization": f"Bearer {access}"}
            token = http.post("/api/agents", headers=auth).json()["token"]
            self.key = http.post("/api/keys", headers=auth).json()["key"]
        config = self.home / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "model": {"max_tokens": 8, "temperature": 0.0},
                    "rag": {"enabled": False},
                    "gateway": {"url": f"ws://127.0.0.1:{self.gateway_port}", "agent_token": token},
                }
            )
        )
        self.procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--serve-agent",
                    str(config),
                    str(self.home / "agent"),
                    str(self.agent_port),
                ],
                stdout=log,
                stderr=log,
            )
        )
        wait_healthy(self.agent_url, self.procs[-1])
        deadline = time.monotonic() + 30
        while not httpx.get(f"{self.gateway_url}/api/status").json()["agent_online"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the agent did not link")
            time.sleep(0.05)
        return self

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def agent_url(self) -> str:
        return f"http://127.0.0.1:{self.agent_port}"

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def stream_times(http: httpx.AsyncClient, url: str, headers: dict, chunks: int) -> list[float]:
    """perf_counter() at the request and at each content chunk of one streamed completion."""
    body = {
        "model": "my-clone",
        "messages": [{"role": "user", "content": "go"}],
        "max_tokens": chunks,
        "stream": True,
    }
    times = [time.perf_counter()]
    async with http.stream("POST", url, json=body, headers=headers) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code} {(await response.aread())!r}")
        async for line in response.aiter_lines():
            if '"content":"tok ' in line:
                times.append(time.perf_counter())
    if len(times) != chunks + 1:
        raise RuntimeError(f"{url}: {len(times) - 1} chunks, expected {chunks}")
    return times


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    stack: Stack, requests: int, concurrency: int, stream_chunks: int, long_chunks: int
) -> dict:
    sides = {
        "direct": (f"{stack.agent_url}/v1/chat/completions", {}),
        "relay": (f"{stack.gateway_url}/v1/chat/completions", {"Authorization": f"Bearer {stack.key}"}),
    }
    results: dict = {name: {"ttfc": [], "interval": [], "rate": 0.0} for name in sides}
    limits = httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency + 10)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        for url, headers in sides.values():  # warm-up
            for _ in range(20):
                await stream_times(http, url, headers, 2)
        for _ in range(requests):  # interleaved, so background load hits both sides alike
            for name, (url, headers) in sides.items():
                times = await stream_times(http, url, headers, 1)
                results[name]["ttfc"].append(times[1] - times[0])
        for _ in range(5):
            for name, (url, headers) in sides.items():
                times = await stream_times(http, url, headers, long_chunks)
                results[name]["interval"].append((times[-1] - times[1]) / (long_chunks - 1))
        for name, (url, headers) in sides.items():
            start = time.perf_counter()
            await asyncio.gather(
                *(stream_times(http, url, headers, stream_chunks) for _ in range(concurrency))
            )
            results[name]["rate"] = concurrency * stream_chunks / (time.perf_counter() - start)
    return results


def table(results: dict, args) -> str:
    direct, relay = results["direct"], results["relay"]
    ms = lambda v: f"{v * 1000:.2f} ms"  # noqa: E731
    us = lambda v: f"{v * 1e6:.0f} µs"  # noqa: E731
    d50, r50 = statistics.median(direct["ttfc"]), statistics.median(relay["ttfc"])
    d95, r95 = percentile(direct["ttfc"], 0.95), percentile(relay["ttfc"], 0.95)
    di, ri = statistics.median(direct["interval"]), statistics.median(relay["interval"])
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared), Python {platform.python_version()}; "
        "agent, gateway and client are separate processes on loopback, all on these cores.",
        "Engine: `InstantEngine` (bench/relay.py), an `EngineClient` that emits one-word tokens instantly, so the",
        "numbers are the cost of HTTP/SSE, the agent link (WebSocket, wire frames, credits) and the gateway alone.",
        "Both sides are the OpenAI streaming API (`/v1/chat/completions`, SSE), read with httpx; uvicorn runs on uvloop.",
        "",
        "| Measure | Agent directly | Gateway + relay | Relay's cost | Target |",
        "|---|---|---|---|---|",
        f"| Time to first chunk, p50 ({args.requests} requests) | {ms(d50)} | {ms(r50)} | +{ms(r50 - d50)} | <= +3 ms |",
        f"| Time to first chunk, p95 | {ms(d95)} | {ms(r95)} | +{ms(r95 - d95)} | |",
        f"| Interval between chunks of one {args.long_chunks}-chunk stream (median of 5) | {us(di)} | {us(ri)} | +{us(ri - di)} | |",
        f"| Chunks/s, {args.concurrency} concurrent streams x {args.stream_chunks} chunks (one link) | "
        f"{direct['rate']:,.0f} | {relay['rate']:,.0f} | | >= 5,000 through the link |",
    ]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-agent":
        serve_agent(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--stream-chunks", type=int, default=400)
    parser.add_argument("--long-chunks", type=int, default=2000)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    stack = Stack()
    try:
        stack.start()
        results = asyncio.run(
            measure(stack, args.requests, args.concurrency, args.stream_chunks, args.long_chunks)
        )
    finally:
        stack.stop()
    body = table(results, args)
    print(body)
    if args.write:
        write_section(HEADING, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
