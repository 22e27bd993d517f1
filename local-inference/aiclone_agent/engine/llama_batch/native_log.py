"""llama.cpp's own log, routed to Python logging (logger ``llama.cpp``) at its real levels.

llama-cpp-python 0.3.36 maps ggml's log levels by an older enum: a warning is printed to stderr as
an error, and an error is dropped as debug. Here DEBUG 1, INFO 2, WARN 3 and ERROR 4 keep their
names (5 continues the line before), so a failed model load says why in the agent's log. llama.cpp's
notes on each interrupted step (``decode: removing memory module entries ...``, one per sequence,
and the three error lines of a step whose graph was aborted, status 1 and ``ret = 2``) are DEBUG:
the decode loop interrupts steps on purpose (``LlamaContext.interrupt``), and stops the prompt
lane's when its request ends.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import llama_cpp

log = logging.getLogger("llama.cpp")
log.setLevel(logging.WARNING)  # its INFO lines are the model's whole description on every load

LEVELS = {0: logging.INFO, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
CONTINUED = 5
EXPECTED = (  # an interrupted step: its cells dropped on purpose, its graph aborted (GGML_STATUS_ABORTED)
    "decode: removing memory module entries",
    "graph_compute: ggml_backend_sched_graph_compute_async failed with error 1",
    "process_ubatch: failed to compute graph, compute status: 1",
    "llama_decode: failed to decode, ret = 2",
)

_last_level = logging.INFO
_collecting = threading.local()  # .errors: the list ``errors()`` fills on this thread, if any


@llama_cpp.llama_log_callback
def _route(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
    global _last_level
    python_level = _last_level if level == CONTINUED else LEVELS.get(level, logging.INFO)
    _last_level = python_level
    collecting = getattr(_collecting, "errors", None) if python_level >= logging.ERROR else None
    if collecting is None and not log.isEnabledFor(python_level):
        return
    message = text.decode("utf-8", errors="replace").rstrip()
    if not message:
        return
    if collecting is not None:
        collecting.append(message)
    if python_level in (logging.WARNING, logging.ERROR) and message.startswith(EXPECTED):
        python_level = logging.DEBUG
    log.log(python_level, "%s", message)


@contextmanager
def errors() -> Iterator[list[str]]:
    """The error lines llama.cpp logs on this thread inside the block (a failed load says why)."""
    outer = getattr(_collecting, "errors", None)
    collected: list[str] = []
    _collecting.errors = collected
    try:
        yield collected
    finally:
        _collecting.errors = outer


def reason(lines: list[str]) -> str:
    """The first error line without the function that logged it: ``error loading model: ...``."""
    if not lines:
        return ""
    function, _, rest = lines[0].partition(": ")
    return rest if rest and " " not in function else lines[0]


def install() -> None:
    """Route llama.cpp's log here from now on (it replaces llama-cpp-python's printer)."""
    llama_cpp.llama_log_set(_route, ctypes.c_void_p(0))
