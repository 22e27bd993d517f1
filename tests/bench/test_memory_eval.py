"""bench/memory_eval.py at a tiny size: the table comes out with every method, memory recalls
what the baselines miss, and no method ever shows one person another person's round."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "bench" / "memory_eval.py"


def row(table: str, label: str) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@pytest.mark.slow
def test_a_tiny_run_prints_the_table_with_no_leakage():
    done = subprocess.run(
        [sys.executable, str(EVAL), "--persons", "3", "--latency-records", "30", "--latency-queries", "20",
         "--seed", "3"],
        capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    table = done.stdout
    assert "3 persons" in table and "30 rounds" in table
    methods = {
        label: row(table, label) for label in ("no memory", "last 5 rounds", "dense only", "memory (hybrid)")
    }
    for cells in methods.values():
        assert cells[6] == "0"  # leakage
    assert float(methods["no memory"][1]) == 0.0
    memory = float(methods["memory (hybrid)"][1])
    assert memory > max(float(methods[label][1]) for label in ("no memory", "last 5 rounds", "dense only"))
    assert float(methods["memory (hybrid)"][5]) <= float(methods["dense only"][5])  # stale above update
    assert float(methods["memory (hybrid)"][8]) > 0  # p95 measured
