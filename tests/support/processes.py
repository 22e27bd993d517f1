"""Real server processes for tests: started on a free loopback port, stopped cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def refuse_in_quick_run(what: str) -> None:
    """``./scripts/test.sh --quick`` runs no process: a test that starts one without the
    ``process`` marker (set by hand or by using a process fixture) fails here, naming itself."""
    if os.environ.get("AICLONE_TEST_QUICK") == "1":
        raise RuntimeError(f"this test starts a {what} process: mark it @pytest.mark.process")


class ServerProcess:
    """``python -m <module> serve`` with ``env``, logging to ``home/<name>-<port>.log``.

    Subclasses set ``module`` and ``name`` and fill ``self.env`` before ``start``."""

    module = ""
    name = ""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = free_port()
        self.env: dict[str, str] = {}
        self.log = home / f"{self.name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float | None = None):
        refuse_in_quick_run(self.name)
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "serve"],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        # A loaded machine (many test runs sharing two cores) may need longer: AICLONE_TEST_START_TIMEOUT_S.
        try:
            self._wait_healthy(timeout or float(os.environ.get("AICLONE_TEST_START_TIMEOUT_S", "60")))
        except RuntimeError:
            self.stop(signal.SIGKILL)  # a process that never became healthy is not left running
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}: {self.log.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start in {timeout}s: {self.log.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
