"""One gateway, one or two agents: aggregate tokens/s, each agent's share, and a kill -9 mid-run.

Every part is a real process on loopback: the gateway (``python -m aiclone_gateway serve``,
SQLite) and two agents (``python -m aiclone_agent serve``, the real small model, each given one
core: ``n_threads: 1``), each with its own agent token. A client streams completions from the
gateway's OpenAI API (``/v1/chat/completions``, SSE, httpx), ``--concurrency`` at a time:

1. agent A linked alone: ``--requests`` requests -> aggregate tokens/s;
2. agent B linked too: the same requests -> aggregate tokens/s and the requests each agent took
   (its own ``aiclone_agent_link_requests_total``, read from its ``/metrics`` before and after);
3. the same requests again; once a third of them are sent, the agent that took the most in phase
   2 is killed (SIGKILL): failed requests, split by whether their stream had started, and the
   time from the kill until every new request goes to the survivor (the send time of the last
   request after the kill that failed, or that the killed agent took).

Prints a Markdown table; ``--write`` puts it into docs/benchmarks.md.

    .venv/bin/python bench/multi_agent.py [--requests 48] [--concurrency 8] [--max-tokens 64] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from benchmarks_doc import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "local-inference"), str(ROOT / "backend"), str(ROOT / "wire")]

from relay import free_port, wait_healthy  # noqa: E402

HEADING = "## Several agents (bench/multi_agent.py)"
MODEL = Path(os.environ.get("AICLONE_TEST_MODEL", ROOT / "models/base/SmolLM2-135M-Instruct.Q4_1.gguf"))
START_TIMEOUT_S = float(os.environ.get("AICLONE_TEST_START_TIMEOUT_S", "180"))
PROMPTS = [
    "Count from one to thirty in words.",
    "Describe a walk through a forest in autumn.",
    "List ten colours and one thing of each colour.",
    "Explain how a bicycle works.",
    "Tell a short story about a lighthouse keeper.",
    "Name twelve animals and where they live.",
]


@dataclass
class Agent:
    name: str
    token: str
    token_id: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def link_requests(self) -> float:
        """Requests the gateway has sent this agent (its own counter, every path)."""
        text = httpx.get(f"{self.url}/metrics", timeout=30).text
        return sum(
            float(v) for v in re.findall(r"^aiclone_agent_link_requests_total\{[^}]*\} (\S+)$", text, re.M)
        )


@dataclass
class Outcome:
    sent: float  # perf_counter() when the request went out
    streamed: bool = False  # a content chunk arrived
    ok: bool = False  # the stream ended with [DONE] and no error
    tokens: int = 0
    error: str = ""


class Stack:
    """The gateway, two agents (A, B) with their own tokens, and an API key for the client."""

    def __init__(self, max_tokens: int) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="aiclone-multi-agent-"))
        self.gateway_port = free_port()
        self.max_tokens = max_tokens
        self.gateway: subprocess.Popen | None = None
        self.agents: list[Agent] = []
        self.key = ""
        self.model = ""  # the clone's model id, as the gateway's /v1/models lists it
        self.owner: dict[str, str] = {}
        self.log = (self.home / "processes.log").open("ab")

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def start_gateway(self) -> None:
        env = {
            **os.environ,
            "AICLONE_GATEWAY_HOST": "127.0.0.1",
            "AICLONE_GATEWAY_PORT": str(self.gateway_port),
            "AICLONE_GATEWAY_DATA_DIR": str(self.home / "gateway"),
            "AICLONE_GATEWAY_LOG_LEVEL": "warning",
        }
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "aiclone_gateway", "serve"], env=env, stdout=self.log, stderr=self.log
        )
        wait_healthy(self.gateway_url, self.gateway, timeout=START_TIMEOUT_S)
        with httpx.Client(base_url=self.gateway_url, timeout=60) as http:
            credentials = {"email": "bench@example.test", "password": "bench password"}
            http.post("/api/auth/register", json=credentials)
            access = http.post("/api/auth/login", json=credentials).json()["access_token"]
            self.owner = {"Authorization": f"Bearer {access}"}
            for name in ("A", "B"):
                created = http.post("/api/agents", headers=self.owner, json={"name": f"agent {name}"}).json()
                self.agents.append(Agent(name, created["token"], created["id"]))
            self.key = http.post("/api/keys", headers=self.owner).json()["key"]

    def start_agent(self, agent: Agent) -> None:
        home = self.home / f"agent-{agent.name}"
        home.mkdir()
        config = home / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "model": {
                        "base_model_path": str(MODEL),
                        "n_threads": 1,
                        "n_ctx": 2048,
                        "max_tokens": self.max_tokens,
                        "temperature": 0.0,
                    },
                    "rag": {"enabled": False},
                    "gateway": {"url": f"ws://127.0.0.1:{self.gateway_port}", "agent_token": agent.token},
                }
            )
        )
        env = {
            **os.environ,
            "AICLONE_CONFIG": str(config),
            "AICLONE_DATA_DIR": str(home / "data"),
            "AICLONE_MODELS_DIR": str(home / "models"),
            "AICLONE_PORT": str(agent.port),
        }
        agent.proc = subprocess.Popen(
            [sys.executable, "-m", "aiclone_agent", "serve"], env=env, stdout=self.log, stderr=self.log
        )
        wait_healthy(agent.url, agent.proc, timeout=START_TIMEOUT_S)
        self.wait_for(lambda rows: linked(rows, agent) is True, f"agent {agent.name} never linked")
        if not self.model:
            models = httpx.get(
                f"{self.gateway_url}/v1/models", headers={"Authorization": f"Bearer {self.key}"}, timeout=30
            ).json()
            self.model = models["data"][0]["id"]

    def agent_rows(self) -> list[dict]:
        return httpx.get(f"{self.gateway_url}/api/agents", headers=self.owner, timeout=30).json()

    def wait_for(self, condition, failure: str, timeout: float = 120) -> float:
        """Polls ``GET /api/agents`` until ``condition(rows)``; the perf_counter() it held at."""
        deadline = time.monotonic() + timeout
        while True:
            if condition(self.agent_rows()):
                return time.perf_counter()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{failure}; see {self.home}/processes.log")
            time.sleep(0.05)

    def stop(self) -> None:
        for proc in [agent.proc for agent in self.agents] + [self.gateway]:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def linked(rows: list[dict], agent: Agent) -> bool | None:
    """Whether the gateway counts ``agent`` as linked: a live field where it lists one per agent
    (``online``, ``live``, ``connected``), else ``linked`` (the agent it sends requests to)."""
    for row in rows:
        if row.get("id") == agent.token_id:
            for name in ("online", "live", "connected", "linked"):
                if isinstance(row.get(name), bool):
                    return row[name]
    return None


async def stream_one(http: httpx.AsyncClient, stack: Stack, prompt: str, max_tokens: int) -> Outcome:
    outcome = Outcome(sent=time.perf_counter())
    body = {
        "model": stack.model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    try:
        async with http.stream(
            "POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {stack.key}"}
        ) as response:
            if response.status_code != 200:
                outcome.error = f"HTTP {response.status_code}"
                await response.aread()
                return outcome
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    outcome.ok = not outcome.error
                    break
                event = json.loads(data)
                if "error" in event:
                    outcome.error = str(event["error"].get("code") or event["error"])
                    continue
                if event.get("usage"):
                    outcome.tokens = event["usage"]["completion_tokens"]
                for choice in event.get("choices", []):
                    if choice.get("delta", {}).get("content"):
                        outcome.streamed = True
    except httpx.HTTPError as exc:
        outcome.error = type(exc).__name__
    if not outcome.ok and not outcome.error:
        outcome.error = "stream ended without [DONE]"
    return outcome


async def run_phase(
    stack: Stack, requests: int, concurrency: int, max_tokens: int, kill: Agent | None = None
) -> dict:
    """``requests`` streams, ``concurrency`` at a time; with ``kill``, SIGKILL it once a third are sent."""
    gate = asyncio.Semaphore(concurrency)
    sent = 0
    third = asyncio.Event()
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    before = {agent.name: agent.link_requests() for agent in stack.agents if alive(agent)}

    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=300, limits=limits) as http:

        async def one(index: int) -> Outcome:
            nonlocal sent
            async with gate:
                sent += 1
                if sent >= max(1, requests // 3):
                    third.set()
                return await stream_one(http, stack, PROMPTS[index % len(PROMPTS)], max_tokens)

        killed_at = gone_at = None
        last_count: dict[str, float] = {}

        async def killer() -> None:
            nonlocal killed_at, gone_at
            await third.wait()
            assert kill is not None and kill.proc is not None
            last_count[kill.name] = await asyncio.to_thread(kill.link_requests)  # its last words
            kill.proc.kill()
            killed_at = time.perf_counter()
            gone_at = await asyncio.to_thread(
                stack.wait_for, lambda rows: linked(rows, kill) is not True, f"agent {kill.name} never left"
            )

        started = time.perf_counter()
        killing = asyncio.create_task(killer()) if kill else None
        outcomes = await asyncio.gather(*(one(i) for i in range(requests)))
        wall = time.perf_counter() - started
        if killing:
            await killing
    after = {
        agent.name: agent.link_requests() for agent in stack.agents if agent.name in before and alive(agent)
    }
    after.update(last_count)
    result: dict = {
        "requests": requests,
        "wall_s": wall,
        "tokens": sum(o.tokens for o in outcomes),
        "tok_per_s": sum(o.tokens for o in outcomes) / wall,
        "failed": sum(not o.ok for o in outcomes),
        "errors": sorted({o.error for o in outcomes if o.error}),
        "share": {name: int(after[name] - before[name]) for name in after},
    }
    if kill is not None and killed_at is not None:
        after_kill = [o for o in outcomes if o.sent >= killed_at]
        failed = [o for o in outcomes if not o.ok]
        result.update(
            killed=kill.name,
            in_flight_at_kill=sum(1 for o in outcomes if o.sent < killed_at),
            failed_streaming=sum(1 for o in failed if o.streamed),
            failed_not_streaming=sum(1 for o in failed if not o.streamed),
            sent_after_kill=len(after_kill),
            failed_after_kill=sum(not o.ok for o in after_kill),
            failover_s=max((o.sent - killed_at for o in after_kill if not o.ok), default=0.0),
            gone_s=(gone_at - killed_at) if gone_at is not None else None,
        )
    return result


def alive(agent: Agent) -> bool:
    return agent.proc is not None and agent.proc.poll() is None


def table(one: dict, two: dict, killed: dict, args) -> str:
    def share(phase: dict) -> str:
        counts = [phase["share"].get(name, 0) for name in ("A", "B")]
        total = sum(counts) or 1
        return " / ".join(f"{n} ({n / total:.0%})" for n in counts)

    def failed(phase: dict) -> str:
        errors = f" ({', '.join(phase['errors'])})" if phase["errors"] else ""
        return f"{phase['failed']} of {phase['requests']}{errors}"

    survivor = "A" if killed.get("killed") == "B" else "B"
    gone = f"{killed['gone_s']:.2f} s" if killed.get("gone_s") is not None else "never"
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared: the gateway, both agents and the client "
        f"run on them); Python {platform.python_version()}. Model: `{MODEL.name}`, each agent `n_threads: 1`, "
        f"temperature 0, at most {args.max_tokens} tokens an answer; RAG off.",
        f"Client: {args.concurrency} concurrent streams (`/v1/chat/completions`, SSE, httpx) through the gateway, "
        f"{args.requests} requests a phase; tokens = the `usage` of each stream; requests per agent = each agent's "
        "`aiclone_agent_link_requests_total`.",
        "",
        "| Measure | Agent A alone | Agents A and B | Target |",
        "|---|---|---|---|",
        f"| Aggregate tokens/s | {one['tok_per_s']:.1f} | {two['tok_per_s']:.1f} | |",
        f"| Requests taken, A / B | {share(one)} | {share(two)} | |",
        f"| Failed requests | {failed(one)} | {failed(two)} | 0 |",
        "",
        f"Kill -9 of agent {killed.get('killed', '?')} once a third of {killed['requests']} requests were sent "
        f"({killed.get('in_flight_at_kill', 0)} sent before the kill):",
        "",
        "| Measure | Value | Target |",
        "|---|---|---|",
        f"| Failed requests whose stream had started (cut mid-answer) | {killed.get('failed_streaming', 0)} | |",
        f"| Failed requests whose stream had not started | {killed.get('failed_not_streaming', 0)} | 0 |",
        f"| Requests sent after the kill that failed | {killed.get('failed_after_kill', 0)} of "
        f"{killed.get('sent_after_kill', 0)} | 0 |",
        f"| Time from the kill until every new request goes to agent {survivor} | "
        f"{killed.get('failover_s', 0.0):.2f} s | |",
        f"| Time from the kill until the gateway lists agent {killed.get('killed', '?')} as gone (`GET /api/agents`) "
        f"| {gone} | |",
        f"| Aggregate tokens/s of the phase | {killed['tok_per_s']:.1f} | |",
        f"| Requests taken, A / B (agent {killed.get('killed', '?')}'s read just before the kill) | "
        f"{share(killed)} | |",
    ]
    return "\n".join(lines)


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=48, help="requests in each phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if args.requests < 3 or args.concurrency < 1:
        parser.error("--requests must be at least 3 (a third are sent before the kill)")
    if not MODEL.is_file():
        print(f"multi-agent bench refused: no model at {MODEL} (set AICLONE_TEST_MODEL)", file=sys.stderr)
        return 2
    stack = Stack(args.max_tokens)
    try:
        stack.start_gateway()
        a, b = stack.agents
        stack.start_agent(a)
        asyncio.run(run_phase(stack, 2, 2, 4))  # warm-up
        progress("phase 1: agent A alone")
        one = asyncio.run(run_phase(stack, args.requests, args.concurrency, args.max_tokens))
        stack.start_agent(b)
        progress("phase 2: agents A and B")
        two = asyncio.run(run_phase(stack, args.requests, args.concurrency, args.max_tokens))
        victim = b if two["share"].get("B", 0) >= two["share"].get("A", 0) else a
        progress(f"phase 3: agent {victim.name} killed mid-run")
        killed = asyncio.run(run_phase(stack, args.requests, args.concurrency, args.max_tokens, kill=victim))
    finally:
        stack.stop()
    body = table(one, two, killed, args)
    print(body)
    if args.write:
        write_section(HEADING, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
