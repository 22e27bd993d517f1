"""Startup phases, each logged with its duration, the same way by both programs.

``bench/startup.py`` reads these lines (``aiclone.startup: <phase> took <N> ms``) to show where a start
spends its time; an operator reads them to see why a start was slow."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("aiclone.startup")


@contextmanager
def startup_phase(name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.info("%s took %d ms", name, round((time.perf_counter() - started) * 1000))
