"""Network paths: a request through the gateway over the direct path, the relay, or both (hybrid),
with added latency on each (a TCP proxy in front of each path: 20 ms each way on the relay, 2 ms
on the direct path by default), and the time the gateway needs to notice a dead path.

Real processes on loopback, as in bench/relay.py: the gateway, and the agent around
``InstantEngine`` (tokens emitted instantly, so only the paths are measured). Measured: time to
first chunk (TTFC) and chunks/s of one long stream per mode; time from cutting (TCP closed) or
blackholing (silent) the direct path until the gateway reports ``relay``.
Prints a Markdown table; ``--write`` puts it into docs/benchmarks.md.

    .venv/bin/python bench/network_paths.py [--requests 50] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

import relay as relay_bench  # noqa: E402 - the bench folder is put on the path first
from benchmarks_doc import write_section  # noqa: E402

from tests.support.tcp_proxy import TcpProxy  # noqa: E402

HEADING = "## Network paths (bench/network_paths.py)"


class PathsStack(relay_bench.Stack):
    """The relay bench's stack with a direct listener, and a TCP proxy in front of each path."""

    def __init__(self, relay_delay_s: float, direct_delay_s: float) -> None:
        super().__init__()
        self.direct_port = relay_bench.free_port()
        self.relay_proxy = TcpProxy(self.gateway_port).start()
        self.direct_proxy = TcpProxy(self.direct_port).start()
        self.delays = (relay_delay_s, direct_delay_s)
        self.restore()

    def restore(self) -> None:
        """End every fault and put the configured latency back (``TcpProxy.restore`` clears it)."""
        for proxy, delay in zip((self.relay_proxy, self.direct_proxy), self.delays, strict=True):
            proxy.restore()
            proxy.latency(delay)

    def start(self) -> PathsStack:
        env = {
            **os.environ,
            "AICLONE_GATEWAY_HOST": "127.0.0.1",
            "AICLONE_GATEWAY_PORT": str(self.gateway_port),
            "AICLONE_GATEWAY_DATA_DIR": str(self.home / "gateway"),
            "AICLONE_GATEWAY_LOG_LEVEL": "warning",
            "AICLONE_GATEWAY_HEARTBEAT_INTERVAL_S": "1",
            "AICLONE_GATEWAY_HEARTBEAT_TIMEOUT_S": "4",
        }
        log = (self.home / "processes.log").open("ab")
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "aiclone_gateway", "serve"], env=env, stdout=log, stderr=log
            )
        )
        relay_bench.wait_healthy(self.gateway_url, self.procs[-1], timeout=300)
        with httpx.Client(base_url=self.gateway_url) as http:
            credentials = {"email": "bench@example.test", "password": "bench password"}
            http.post("/api/auth/register", json=credentials)
            access = http.post("/api/auth/login", json=credentials).json()["access_token"]
            auth = {"Authorization": f"Bearer {access}"}
            token = http.post("/api/agents", headers=auth).json()["token"]
            self.key = http.post("/api/keys", headers=auth).json()["key"]
        config = self.home / "config.yaml"
        direct = {
            "enabled": True,
            "host": "127.0.0.1",
            "port": self.direct_port,
            "advertise_url": self.direct_proxy.url,
        }
        config.write_text(
            yaml.safe_dump(
                {
                    "model": {"max_tokens": 8, "temperature": 0.0},
                    "rag": {"enabled": False},
                    "gateway": {"url": self.relay_proxy.url, "agent_token": token, "direct": direct},
                }
            )
        )
        args = [
            sys.executable,
            relay_bench.__file__,
            "--serve-agent",
            str(config),
            str(self.home / "agent"),
            str(self.agent_port),
        ]
        self.procs.append(subprocess.Popen(args, stdout=log, stderr=log))
        relay_bench.wait_healthy(self.agent_url, self.procs[-1], timeout=300)
        return self

    def stop(self) -> None:
        super().stop()
        self.relay_proxy.stop()
        self.direct_proxy.stop()


async def wait_mode(http: httpx.AsyncClient, url: str, mode: str, timeout: float = 60) -> float:
    started = time.perf_counter()
    while (await http.get(f"{url}/api/status")).json()["network_mode"] != mode:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"the gateway never reported {mode}")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def measure(stack: PathsStack, requests: int, long_chunks: int) -> dict:
    url = f"{stack.gateway_url}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {stack.key}"}
    results: dict = {}
    async with httpx.AsyncClient(timeout=120) as http:
        await wait_mode(http, stack.gateway_url, "hybrid", timeout=120)
        await asyncio.sleep(4)  # RTT samples on both paths
        modes = {
            "direct": (stack.relay_proxy, None),  # relay cut: the direct path only
            "relay": (stack.direct_proxy, None),
            "hybrid": (None, None),
        }
        for mode, (cut, _) in modes.items():
            if cut is not None:
                cut.cut()
            await wait_mode(http, stack.gateway_url, mode)
            for _ in range(5):  # warm-up
                await relay_bench.stream_times(http, url, headers, 2)
            ttfc = []
            for _ in range(requests):
                times = await relay_bench.stream_times(http, url, headers, 1)
                ttfc.append(times[1] - times[0])
            times = await relay_bench.stream_times(http, url, headers, long_chunks)
            results[mode] = {
                "ttfc": statistics.median(ttfc),
                "rate": (long_chunks - 1) / (times[-1] - times[1]),
            }
            if cut is not None:
                stack.restore()
                await wait_mode(http, stack.gateway_url, "hybrid", timeout=120)
                await asyncio.sleep(4)
        for fault in ("cut", "blackhole"):
            getattr(stack.direct_proxy, fault)()
            results[f"detect_{fault}"] = await wait_mode(http, stack.gateway_url, "relay")
            stack.restore()
            await wait_mode(http, stack.gateway_url, "hybrid", timeout=120)
            await asyncio.sleep(2)
    return results


def table(results: dict, args) -> str:
    def ms(v: float) -> str:
        return f"{v * 1000:.1f} ms"

    lines = [
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other work), "
            f"Python {platform.python_version()}; gateway, agent (`InstantEngine`), proxies and client on loopback."
        ),
        (
            f"Added latency each way: relay {args.relay_ms:g} ms, direct {args.direct_ms:g} ms (TCP proxies, "
            "tests/support/tcp_proxy.py). Gateway probes every 1 s (idle), a path trusted 2.5 probe intervals."
        ),
        "",
        "| Mode | Time to first chunk, p50 | Chunks/s, one stream |",
        "|---|---|---|",
    ]
    for mode in ("direct", "relay", "hybrid"):
        lines.append(f"| {mode} | {ms(results[mode]['ttfc'])} | {results[mode]['rate']:,.0f} |")
    lines += [
        "",
        "| Direct path fault | Time until the gateway reports `relay` |",
        "|---|---|",
        f"| cut (TCP closed) | {ms(results['detect_cut'])} |",
        f"| blackhole (silent: missed probes) | {ms(results['detect_blackhole'])} |",
        "",
        f"{args.requests} requests per mode; chunks/s over one {args.long_chunks}-chunk stream.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--long-chunks", type=int, default=2000)
    parser.add_argument("--relay-ms", type=float, default=20)
    parser.add_argument("--direct-ms", type=float, default=2)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    stack = PathsStack(args.relay_ms / 1000, args.direct_ms / 1000)
    try:
        stack.start()
        results = asyncio.run(measure(stack, args.requests, args.long_chunks))
    finally:
        stack.stop()
    body = table(results, args)
    print(body)
    if args.write:
        write_section(HEADING, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
