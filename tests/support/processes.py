"""Waiting for a server process started by a test to answer its health check."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_healthy(proc: subprocess.Popen, health_url: str, log: Path, name: str, timeout: float) -> None:
    """Return once ``health_url`` answers 200; raise with the log's tail if the process dies or
    does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{name} did not start in {timeout}s: {log.read_text()[-3000:]}")
