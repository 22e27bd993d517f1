"""How soon each program answers after it is started: time from exec to the first ``/healthz`` 200.

Measured, each ``--runs`` times on this machine, as real processes on loopback:
- the gateway's first start on a new SQLite database (``python -m aiclone_gateway serve``: imports,
  migrations, the runtime, uvicorn);
- the agent's restart over an existing data folder and the small GGUF (``python -m aiclone_agent
  serve``: imports, the model load, RAG store, listeners);
- the peer: the smallest FastAPI app under the same uvicorn and Python, the floor that any
  FastAPI service pays on this machine.
Targets (issue 22): the gateway within 2 s, the agent within 3 s of a restart. The programs log
each startup phase with its duration (``aiclone.startup: <phase> took N ms``); the slowest phases of the
last run are printed under the table. Prints a Markdown table; ``--write`` puts it into
docs/benchmarks.md.

    .venv/bin/python bench/startup.py [--runs 5] [--model models/base/X.gguf] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from benchmarks_doc import write_section

ROOT = Path(__file__).resolve().parents[1]
HEADING = "## Startup: time to the first /healthz (bench/startup.py)"
PHASE = re.compile(r"aiclone\.startup: (?P<phase>.+?) took (?P<ms>\d+) ms")
PEER_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/healthz")
def healthz():
    return {"status": "ok"}
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def time_to_healthy(argv: list[str], env: dict[str, str], port: int, log: Path) -> float:
    """Seconds from exec until ``/healthz`` answers 200; the process is stopped afterwards."""
    started = time.perf_counter()
    with log.open("ab") as handle:
        proc = subprocess.Popen(argv, env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = started + 120
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[2]} exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"{argv} did not answer within 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def gateway_start(home: Path) -> tuple[float, Path]:
    port = free_port()
    data = home / f"gateway-{port}"
    env = {
        **os.environ,
        "AICLONE_GATEWAY_HOST": "127.0.0.1",
        "AICLONE_GATEWAY_PORT": str(port),
        "AICLONE_GATEWAY_DATA_DIR": str(data),
        "AICLONE_GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'gateway.sqlite3'}",
        "AICLONE_GATEWAY_ALLOWED_ORIGINS": json.dumps(["http://chat.example.test"]),
    }
    log = home / f"gateway-{port}.log"
    return time_to_healthy([sys.executable, "-m", "aiclone_gateway", "serve"], env, port, log), log


def agent_restart(home: Path, model: Path) -> tuple[float, Path]:
    """The agent's data folder exists from the run before (the first run is its first start)."""
    port = free_port()
    config = home / "config.yaml"
    if not config.exists():
        config.write_text(yaml.safe_dump({"model": {"base_model_path": str(model), "n_ctx": 2048}}))
    env = {
        **os.environ,
        "AICLONE_CONFIG": str(config),
        "AICLONE_DATA_DIR": str(home / "data"),
        "AICLONE_MODELS_DIR": str(home / "models"),
        "AICLONE_PORT": str(port),
    }
    log = home / f"agent-{port}.log"
    return time_to_healthy([sys.executable, "-m", "aiclone_agent", "serve"], env, port, log), log


def peer_start(home: Path) -> float:
    (home / "peer_app.py").write_text(PEER_APP)
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "peer_app:app", "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": str(home)}
    return time_to_healthy(argv, env, port, home / "peer.log")


def phases(log: Path) -> list[tuple[str, int]]:
    return [(m["phase"], int(m["ms"])) for m in PHASE.finditer(log.read_text(errors="replace"))]


def row(name: str, seconds: list[float], target: str) -> str:
    return f"| {name} | {statistics.median(seconds):.2f} s | {max(seconds):.2f} s | {target} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--model",
        type=Path,
        default=Path(
            os.environ.get("AICLONE_TEST_MODEL", ROOT / "models/base/SmolLM2-135M-Instruct.Q4_1.gguf")
        ),
    )
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiclone-startup-") as tmp:
        home = Path(tmp)
        (home / "agent").mkdir()
        peer = [peer_start(home) for _ in range(args.runs)]
        gateway = [gateway_start(home) for _ in range(args.runs)]
        agent_runs = [agent_restart(home / "agent", args.model) for _ in range(args.runs + 1)]
        agent = [seconds for seconds, _ in agent_runs[1:]]  # the first is a first start, not a restart
        lines = [
            f"{args.runs} runs each, {os.cpu_count()} cores, the model {args.model.name}; exec to the first 200.",
            "",
            "| process | median | slowest | target |",
            "|---|---|---|---|",
            row("peer: minimal FastAPI app under uvicorn", peer, "(the floor)"),
            row("gateway, first start (new SQLite database)", [s for s, _ in gateway], "<= 2 s"),
            row("agent, restart (existing data folder)", agent, "<= 3 s"),
            "",
            "Startup phases of the last run (ms): gateway "
            + ", ".join(f"{p} {ms}" for p, ms in phases(gateway[-1][1]))
            + "; agent "
            + ", ".join(f"{p} {ms}" for p, ms in phases(agent_runs[-1][1]))
            + ".",
        ]
    body = "\n".join(lines)
    print(f"{HEADING}\n\n{body}")
    if args.write:
        write_section(HEADING, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
