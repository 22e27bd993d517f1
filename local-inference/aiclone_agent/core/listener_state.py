"""What a listener the admin can restart in-process says about itself (LAN and direct path)."""

from __future__ import annotations

import errno
import socket
from typing import Literal

# stopped: disabled (or not started); restarting: an Apply in progress; failed: the last start
# could not listen (its ``last_error`` says why); running: serving on its address.
ListenerState = Literal["stopped", "restarting", "running", "failed"]


def listen_error_code(exc: OSError) -> str:
    """Why a listener could not bind, as a code the admin page says in its language with the
    host and port (``listen_error_params``); the OS's own words ("[Errno 98] Address already in
    use") stay in ``last_error`` and the log."""
    if isinstance(exc, socket.gaierror):
        return "listener_address_not_available"  # a host name that does not resolve
    if exc.errno == errno.EADDRINUSE:
        return "listener_address_in_use"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "listener_permission_denied"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "listener_address_not_available"
    return "listener_failed"


def listen_error_params(host: str, port: int) -> dict[str, str | int]:
    return {"host": host, "port": port}
