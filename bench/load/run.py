"""Load test of the public chat: Locust users through nginx (TLS) -> N gateway replicas -> agent,
then the gateway's memory per idle chat WebSocket.

Everything is a real process on loopback: nginx (the site ``nginx/aiclone.conf`` renders to, a
throwaway CA, tests/support/nginx.py), the gateway replicas (``python -m aiclone_gateway serve``),
the agent around ``InstantEngine`` (bench/relay.py: tokens emitted instantly, so the numbers are
the gateway's and nginx's cost, not a model's), and Locust (bench/load/locustfile.py). Then
bench/load/idle_sockets.py opens idle sockets and reads the replicas' RSS.

    .venv/bin/python bench/load/run.py [--replicas 2] [--users 200] [--duration 60] \
        [--idle 1000,10000] [--database postgresql|sqlite] [--write]

``--replicas N`` > 1 needs the gateway's scale-out (``AICLONE_GATEWAY_REDIS_URL``), PostgreSQL and
Redis: ``eval "$(scripts/test_services.sh)"`` exports AICLONE_TEST_PG_URL and AICLONE_TEST_REDIS_URL.
Prints a Markdown table; ``--write`` keeps this run's column in bench/data/load_results.json and
puts the table (every replica count measured so far, side by side) into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "bench" / "load"), str(ROOT), str(ROOT / "backend")]

import relay as relay_bench  # noqa: E402 - InstantEngine's agent: ``relay.py --serve-agent``
from engine import write_section  # noqa: E402
from idle_sockets import IdleSockets  # noqa: E402

from tests.support.nginx import NginxProcess, SelfSignedTls  # noqa: E402
from tests.support.processes import ServerProcess, free_port  # noqa: E402

HEADING = "## Load: public chat through nginx (bench/load/run.py)"
RESULTS = ROOT / "bench" / "data" / "load_results.json"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
OPEN_FILES = 65_536  # client, gateways and nginx: 10k idle sockets are 10k descriptors each side
# The one limit the load run lifts: sign-ups and sign-ins per address per minute, because every
# simulated user comes from one address (nginx's X-Forwarded-For is 127.0.0.1). Users ask within
# the per-user chat limits (--think).
LOAD_SETTINGS = {"AUTH_RATE_LIMIT": "1000000"}


class Replica(ServerProcess):
    """One gateway replica behind nginx."""

    module, name = "aiclone_gateway", "gateway"

    def __init__(self, home: Path, database_url: str, redis_url: str | None) -> None:
        super().__init__(home)
        self.env = {
            **os.environ,
            "AICLONE_GATEWAY_HOST": "127.0.0.1",
            "AICLONE_GATEWAY_PORT": str(self.port),
            "AICLONE_GATEWAY_DATA_DIR": str(home / f"gateway-{self.port}"),
            "AICLONE_GATEWAY_JWT_KEY_FILE": str(home / "jwt_ed25519.pem"),  # one signing key for all
            "AICLONE_GATEWAY_DATABASE_URL": database_url,
            "AICLONE_GATEWAY_LOG_LEVEL": "warning",
            **{f"AICLONE_GATEWAY_{key}": value for key, value in LOAD_SETTINGS.items()},
        }
        if redis_url:
            self.env["AICLONE_GATEWAY_REDIS_URL"] = redis_url
            # this run's keys only: earlier runs on the same Redis leave theirs behind
            self.env["AICLONE_GATEWAY_REDIS_PREFIX"] = f"load-{home.name}"

    @property
    def pid(self) -> int:
        """The running replica's process id (whose memory the idle-socket step reads)."""
        if self.proc is None:
            raise RuntimeError(f"the gateway on port {self.port} is not started")
        return self.proc.pid


def raise_open_files() -> int:
    """Open files for this process and the ones it starts: OPEN_FILES where the hard limit may be
    raised (root with CAP_SYS_RESOURCE), else the hard limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, max(OPEN_FILES, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def new_postgres_database(base_url: str) -> str:
    name = f"load_{uuid.uuid4().hex[:12]}"
    admin_dsn = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False),
        timeout=10,
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await admin.close()


class LoadStack:
    """nginx with TLS -> ``replicas`` gateways -> one agent (InstantEngine), and the owner's token."""

    def __init__(self, replicas: int, database_url: str, redis_url: str | None, max_sockets: int) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="aiclone-load-"))
        self.tls = SelfSignedTls(self.home / "tls")
        static = self.home / "static"
        static.mkdir()
        self.gateways: list[Replica] = []
        self.nginx: NginxProcess | None = None
        self.count, self.database_url, self.redis_url = replicas, database_url, redis_url
        self.max_sockets = max_sockets
        self.agent: subprocess.Popen | None = None
        self.owner_token = ""

    def start(self) -> LoadStack:
        self.gateways = [Replica(self.home, self.database_url, self.redis_url) for _ in range(self.count)]
        # Two descriptors per proxied socket; past the inherited hard limit the sockets are spread
        # over four workers (reuseport).
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        wanted = 2 * self.max_sockets + 1024
        self.nginx = NginxProcess(
            self.home / "nginx",
            self.tls,
            [f"127.0.0.1:{replica.port}" for replica in self.gateways],
            self.home / "static",
            worker_connections=min(wanted, hard - 64),
            worker_processes=1 if wanted <= hard - 64 else 4,
        )
        for replica in self.gateways:  # one after another: the first migrates and writes the key
            replica.env["AICLONE_GATEWAY_PUBLIC_URL"] = self.nginx.url  # the Origin browsers send
            replica.start(timeout=300)
        self.nginx.start()
        with self.http() as http:
            owner = {"email": "owner@example.test", "password": "load test owner password"}
            response = http.post("/api/auth/register", json=owner)
            if response.status_code != 201 or response.json()["role"] != "owner":
                raise RuntimeError(f"the first sign-up did not make the owner: {response.text}")
            self.owner_token = http.post("/api/auth/login", json=owner).json()["access_token"]
            auth = {"Authorization": f"Bearer {self.owner_token}"}
            agent_token = http.post("/api/agents", headers=auth).json()["token"]
        config = self.home / "agent.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "model": {"max_tokens": 8, "temperature": 0.0, "max_queue": 10_000},
                    "rag": {"enabled": False},
                    "gateway": {"url": self.nginx.ws_url, "agent_token": agent_token},
                }
            )
        )
        agent_port = free_port()
        log = (self.home / "agent.log").open("ab")
        self.agent = subprocess.Popen(
            [
                sys.executable,
                relay_bench.__file__,
                "--serve-agent",
                str(config),
                str(self.home / "agent"),
                str(agent_port),
            ],
            env={**os.environ, "SSL_CERT_FILE": str(self.tls.ca)},  # the agent trusts the throwaway CA
            stdout=log,
            stderr=log,
        )
        relay_bench.wait_healthy(f"http://127.0.0.1:{agent_port}", self.agent, timeout=300)
        deadline = time.monotonic() + 60
        with self.http() as http:
            while not http.get("/api/status").json()["agent_online"]:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the agent did not link through nginx; see {self.home}/agent.log")
                time.sleep(0.1)
        return self

    @property
    def proxy(self) -> NginxProcess:
        """nginx, once ``start`` has built it (it needs the replicas' ports)."""
        if self.nginx is None:
            raise RuntimeError("LoadStack.start() builds nginx first")
        return self.nginx

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.proxy.url, verify=self.tls.client_context(), timeout=60)

    def stop(self) -> None:
        if self.agent and self.agent.poll() is None:
            self.agent.terminate()
            try:
                self.agent.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.agent.kill()
        if self.nginx:
            self.nginx.stop()
        for replica in self.gateways:
            replica.stop(signal.SIGTERM)


def run_locust(
    stack: LoadStack, users: int, spawn_rate: float, duration: int, think: tuple[float, float]
) -> dict:
    out = stack.home / "locust.json"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", stack.proxy.url, "-u", str(users), "-r", str(spawn_rate), "-t", f"{duration}s",
        "--stop-timeout", "10", "--json-file", str(out.with_suffix("")), "--loglevel", "WARNING",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(
        command,
        env={
            **os.environ,
            "AICLONE_LOAD_CA": str(stack.tls.ca),
            "AICLONE_LOAD_WAIT_MIN_S": str(think[0]),
            "AICLONE_LOAD_WAIT_MAX_S": str(think[1]),
        },
        capture_output=True,
        text=True,
        timeout=duration + 120,
    )
    wall = time.monotonic() - started
    (stack.home / "locust.log").write_text(done.stdout + done.stderr)
    if not out.exists():
        raise RuntimeError(f"Locust wrote no results (exit {done.returncode}): {done.stderr[-3000:]}")
    return summarize(json.loads(out.read_text()), users, duration, wall)


def _percentile(times: dict[str, int], q: float) -> float:
    """From Locust's histogram {rounded ms: count}: the q-quantile in ms."""
    ordered = sorted((float(ms), count) for ms, count in times.items())
    total = sum(count for _, count in ordered)
    seen = 0
    for ms, count in ordered:
        seen += count
        if seen >= q * total:
            return ms
    return ordered[-1][0] if ordered else float("nan")


def summarize(entries: list[dict], users: int, duration: int, wall: float) -> dict:
    by_name = {entry["name"]: entry for entry in entries}
    empty = {"num_requests": 0, "num_failures": 0, "response_times": {}}
    held = by_name.get("held", empty)
    traffic = [entry for entry in entries if entry["name"] not in ("held", "all connected")]
    ramp_s = by_name.get("all connected", {}).get("max_response_time")
    requests = sum(entry["num_requests"] for entry in traffic)
    failures = sum(entry["num_failures"] for entry in traffic)
    ttfc, answer = by_name.get("ttfc", empty), by_name.get("answer", empty)
    ramp = by_name.get("ttfc (ramp)", empty)
    return {
        "users": users,
        "held": held["num_requests"] - held["num_failures"],
        "duration_s": duration,
        "requests": requests,
        "failures": failures,
        "error_rate": failures / requests if requests else 1.0,
        "requests_per_s": requests / duration,
        "answers": answer["num_requests"] - answer["num_failures"],
        "answers_per_s": (answer["num_requests"] - answer["num_failures"]) / duration,
        "ttfc_p50_ms": _percentile(ttfc["response_times"], 0.50),
        "ttfc_p95_ms": _percentile(ttfc["response_times"], 0.95),
        "ttfc_samples": ttfc["num_requests"],
        "ramp_s": round(ramp_s / 1000) if ramp_s is not None else None,
        "ramp_ttfc_p50_ms": _percentile(ramp["response_times"], 0.50),
        "ramp_ttfc_p95_ms": _percentile(ramp["response_times"], 0.95),
        "answer_p50_ms": _percentile(answer["response_times"], 0.50),
        "locust_wall_s": round(wall, 1),
    }


def measure_idle(stack: LoadStack, steps: list[int]) -> list[dict]:
    pids = [replica.pid for replica in stack.gateways]
    urls = [replica.url for replica in stack.gateways]

    async def run() -> list[dict]:
        client = IdleSockets(stack.proxy.url, stack.tls.client_context(), stack.owner_token, pids, urls)
        try:
            baseline, results = await client.measure(steps)
            kept = await client.still_open()
        finally:
            await client.close()
        if kept != steps[-1]:
            raise RuntimeError(f"only {kept} of {steps[-1]} idle sockets stayed open")
        return [{"baseline_kib": baseline, **vars(step)} for step in results]

    return asyncio.run(run())


def table(columns: dict[str, dict]) -> str:
    keys = sorted(columns, key=int)
    head = " | ".join(f"{key} replica{'s' if key != '1' else ''}" for key in keys)
    rows: list[tuple[str, ...]] = []

    def row(label: str, render, target: str = "") -> None:
        rows.append((label, *(render(columns[key]) for key in keys), target))

    row("Database", lambda c: c["database"])
    row(
        "Simulated users (Locust), run length, all connected after",
        lambda c: (
            f"{c['users']}, {c['duration_s']} s, "
            + (f"{c['ramp_s']} s" if c.get("ramp_s") is not None else "never")
        ),
    )
    row("Users held (socket open all run, nothing failed)", lambda c: f"{c['held']} / {c['users']}", "all")
    row("Time to first chunk, p50 (every user connected)", lambda c: f"{c['ttfc_p50_ms']:.0f} ms")
    row("Time to first chunk, p95 (every user connected)", lambda c: f"{c['ttfc_p95_ms']:.0f} ms")
    row(
        "Time to first chunk while users sign up, p50 / p95",
        lambda c: (
            f"{c['ramp_ttfc_p50_ms']:.0f} / {c['ramp_ttfc_p95_ms']:.0f} ms"
            if c["ramp_ttfc_p50_ms"] == c["ramp_ttfc_p50_ms"]  # NaN: no answer came during the ramp
            else "none asked"
        ),
    )
    row("Errors", lambda c: f"{c['failures']} of {c['requests']:,} ({c['error_rate']:.2%})", "0")
    row("Requests/s (HTTP + WebSocket messages)", lambda c: f"{c['requests_per_s']:.1f}")
    row("Answers/s", lambda c: f"{c['answers_per_s']:.1f}")
    for index in range(max(len(c.get("idle", [])) for c in columns.values())):

        def idle(c: dict, index: int = index) -> str:
            steps = c.get("idle", [])
            if index >= len(steps):
                return "not measured"
            step = steps[index]
            tasks = step.get("tasks_per_socket")
            tasks_text = f", {tasks:.2f} tasks a socket" if tasks is not None else ""
            return (
                f"{step['kib_per_socket']:.1f} KiB ({step['rss_kib'] / 1024:.0f} MiB RSS, "
                f"opened in {step['open_s']:.0f} s{tasks_text})"
            )

        count = next(c["idle"][index]["sockets"] for c in columns.values() if len(c.get("idle", [])) > index)
        row(f"Gateway memory per idle WebSocket, {count:,} open", idle, "<= 20 KiB")
    row("Measured", lambda c: c["measured"])
    lines = [
        f"| Measure | {head} | Target |",
        "|---|" + "---|" * len(keys) + "---|",
        *("| " + " | ".join(cells) + " |" for cells in rows),
    ]
    return "\n".join(lines)


def notes(columns: dict[str, dict]) -> str:
    any_column = next(iter(columns.values()))
    return "\n".join(
        [
            f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores shared by nginx, the replicas, the agent, "
            f"Locust and the idle-socket client (load average {any_column['load_before']} before the run).",
            "Path: Locust -> nginx (TLS, HTTP/1.1 upgrade, the site `nginx/aiclone.conf` renders to) -> gateway "
            "replica(s) -> the agent's link -> an agent around `InstantEngine` (bench/relay.py), which emits its "
            "8 tokens at once: the numbers are the gateway's and nginx's cost, not a model's.",
            "Each user signs up, signs in, takes a ticket, opens `/ws/chat` and asks a question in one conversation, "
            f"reading the answer to its `end` frame, then thinks {any_column['think_s'][0]:g}-{any_column['think_s'][1]:g} s "
            "before the next. Time to first chunk: message sent -> first "
            "`chunk` frame; apart while users are still being spawned, whose sign-up and sign-in (argon2id, "
            "about 0.3 s of CPU each here) are the heaviest work in the run.",
            "For the load run the gateways get `AICLONE_GATEWAY_AUTH_RATE_LIMIT=1000000` (every user comes from "
            "nginx's one address); the per-user chat limits stay at their defaults (20 questions a minute).",
            "Idle sockets: after the Locust run, one signed-in user opens that many `/ws/chat` sockets through nginx "
            "(asyncio, `websockets`), each reads its `status` frame; memory = growth of the replicas' summed "
            "`VmRSS` over the reading before any was opened, divided by the sockets open. Open files "
            f"(RLIMIT_NOFILE) for the client and the gateways: {any_column['open_files']:,} (the hard limit "
            "here: raising it needs CAP_SYS_RESOURCE); nginx: "
            f"`{any_column['nginx_limits']}` (two descriptors per proxied socket; reuseport when several workers).",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=2,
        help="users started per second (each signs up and in: 2 argon2 hashes)",
    )
    parser.add_argument(
        "--duration", type=int, default=180, help="Locust run length in seconds (ramp included)"
    )
    parser.add_argument("--think", default="10,20", help="seconds a user waits between questions: MIN,MAX")
    parser.add_argument("--idle", default="1000,10000", help="idle sockets to hold, ascending; '' skips")
    parser.add_argument(
        "--database", choices=["postgresql", "sqlite"], help="default: postgresql (needed for --replicas > 1)"
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("AICLONE_TEST_PG_URL", ""), help="PostgreSQL server"
    )
    parser.add_argument("--redis-url", default=os.environ.get("AICLONE_TEST_REDIS_URL", ""))
    parser.add_argument(
        "--write", action="store_true", help="update bench/data/load_results.json and docs/benchmarks.md"
    )
    args = parser.parse_args()
    steps = [int(step) for step in args.idle.split(",") if step.strip()]
    think = tuple(float(part) for part in args.think.split(","))
    if len(think) != 2 or not 0 <= think[0] <= think[1]:
        parser.error("--think is MIN,MAX seconds, e.g. 10,20")
    database = args.database or "postgresql"
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    if args.replicas > 1:
        problem = None
        if database != "postgresql":
            problem = "--replicas N > 1 needs PostgreSQL (--database postgresql)"
        if problem is None and not args.redis_url:
            problem = (
                'no Redis: set AICLONE_TEST_REDIS_URL (eval "$(scripts/test_services.sh)") or --redis-url'
            )
        if problem:
            print(f"load run refused: {problem}", file=sys.stderr)
            return 2
    if database == "postgresql" and not args.database_url:
        print(
            'load run refused: no PostgreSQL: eval "$(scripts/test_services.sh)" (AICLONE_TEST_PG_URL), '
            "--database-url, or --database sqlite",
            file=sys.stderr,
        )
        return 2
    open_files = raise_open_files()
    if steps and open_files < steps[-1] + 1024:
        print(
            f"load run refused: open files limited to {open_files}, below {steps[-1]} idle sockets",
            file=sys.stderr,
        )
        return 2
    load_before = f"{os.getloadavg()[0]:.1f}"
    if database == "postgresql":
        database_url = asyncio.run(new_postgres_database(args.database_url))
    else:
        database_url = ""  # each replica's default SQLite file (one replica only)
    stack = LoadStack(
        args.replicas, database_url, args.redis_url or None, max((steps or [0])[-1], args.users)
    )
    try:
        stack.start()
        column = run_locust(stack, args.users, args.spawn_rate, args.duration, think)
        column["think_s"] = list(think)
        column["idle"] = measure_idle(stack, steps) if steps else []
    finally:
        stack.stop()
        if database == "postgresql":
            asyncio.run(drop_postgres_database(database_url))
    column.update(
        open_files=open_files,
        nginx_limits=stack.proxy.limits,
        database="PostgreSQL" if database == "postgresql" else "SQLite",
        load_before=load_before,
        measured=datetime.date.today().isoformat(),
    )
    columns = {str(args.replicas): column}
    if args.write:
        stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        stored[str(args.replicas)] = column
        RESULTS.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
        columns = stored
    body = table(columns) + "\n\n" + notes(columns)
    print(body)
    if args.write:
        write_section(HEADING, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
