"""bench/multi_agent.py at a tiny size: a gateway and two real agents come up, every phase runs
(agent A alone, both, one killed mid-run) and the table comes out with each agent's share."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "multi_agent.py"


def row(table: str, label: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@pytest.mark.process
@pytest.mark.slow
def test_a_tiny_run_prints_every_phase(model_path: Path):
    done = subprocess.run(
        [sys.executable, str(BENCH), "--requests", "6", "--concurrency", "2", "--max-tokens", "8"],
        env={**os.environ, "AICLONE_TEST_MODEL": str(model_path)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    table = done.stdout
    assert row(table, "Failed requests |")[1:3] == ["0 of 6", "0 of 6"], table
    alone = row(table, "Requests taken, A / B |")[1]
    assert alone.startswith("6 (100%) / 0"), table  # B is not started yet
    both = [int(n) for n in re.findall(r"(\d+) \(", row(table, "Requests taken, A / B |")[2])]
    assert sum(both) == 6, table  # every request of phase 2 was counted by the agent that took it
    assert float(row(table, "Aggregate tokens/s |")[1]) > 0, table
    streaming = int(row(table, "Failed requests whose stream had started")[1])
    not_streaming = int(row(table, "Failed requests whose stream had not started")[1])
    assert streaming + not_streaming <= 6, table
    assert re.fullmatch(r"\d+\.\d\d s", row(table, "Time from the kill until every new request")[1]), table
