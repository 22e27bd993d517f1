"""A real nginx (from apt) on loopback high ports with a self-signed certificate, in front of
real gateway processes; the site is the one ``nginx/aiclone.conf`` renders to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local_inference.conftest import model_path  # noqa: F401 - the fixture, shared
from tests.support.nginx import DOMAIN, NginxProcess, SelfSignedTls, nginx_binary  # noqa: F401 - shared

# Starting a gateway imports aiogram, which takes tens of seconds on a loaded 2-core machine.
START_TIMEOUT_S = 240


@pytest.fixture(scope="session")
def tls(tmp_path_factory) -> SelfSignedTls:
    return SelfSignedTls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def static_root(tmp_path_factory) -> Path:
    """A built chat app's layout: a hashed asset big enough to be compressed."""
    root = tmp_path_factory.mktemp("static")
    (root / "assets").mkdir()
    (root / "assets" / "index-3f9a2c.js").write_text("export const greeting = 'hello';\n" * 200)
    return root


@pytest.fixture
def start_nginx(tmp_path: Path, tls: SelfSignedTls, static_root: Path) -> Iterator:
    started: list[NginxProcess] = []

    def start(replicas: list[str]) -> NginxProcess:
        process = NginxProcess(tmp_path / f"nginx-{len(started)}", tls, replicas, static_root).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
