"""bench/load/run.py for seconds: Locust users through a real nginx (TLS) and a gateway to an
InstantEngine agent all stay connected with no failed request, idle sockets are counted, and the
table comes out; several replicas are refused with a reason when they cannot be measured."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.nginx import nginx_binary

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "bench" / "load" / "run.py"


def run(*args: str, model_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "AICLONE_TEST_MODEL": str(model_path), **env}
    environ.pop("AICLONE_TEST_REDIS_URL", None)
    return subprocess.run(
        [sys.executable, str(RUNNER), *args], env=environ, capture_output=True, text=True, timeout=400
    )


def row(table: str, label: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


@pytest.mark.process
@pytest.mark.slow
def test_ten_users_are_held_with_no_errors_and_the_table_is_printed(model_path: Path):
    nginx_binary()  # a clear failure when nginx is not installed
    done = run(
        "--replicas", "1", "--database", "sqlite", "--users", "10", "--spawn-rate", "5",
        "--duration", "15", "--think", "1,2", "--idle", "100",
        model_path=model_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    table = done.stdout
    assert row(table, "Users held")[1] == "10 / 10", table
    failed, total = map(int, re.match(r"(\d+) of (\d+)", row(table, "Errors")[1].replace(",", "")).groups())
    assert failed == 0 and total >= 10 * 4, table  # sign-up, sign-in, ticket, socket and answers
    assert float(row(table, "Answers/s")[1]) > 0, table
    idle = re.fullmatch(
        r"\d+(\.\d)? KiB \(\d+ MiB RSS, opened in \d+ s, (\d+\.\d\d) tasks a socket\)",
        row(table, "Gateway memory per idle WebSocket, 100 open")[1],
    )
    assert idle, table
    assert float(idle.group(2)) < 1.5, table  # one task per idle socket (two would be a writer kept)


def test_several_replicas_are_refused_with_the_reason_when_they_cannot_be_measured(model_path: Path):
    done = run("--replicas", "2", "--redis-url", "", "--idle", "", model_path=model_path)
    assert done.returncode == 2
    assert done.stdout == ""  # nothing measured, no table
    reason = done.stderr.strip()
    assert reason.startswith("load run refused: "), reason
    assert "scale-out" in reason or "Redis" in reason, reason
