"""How either side opens a socket of the agent link (the relay link and the direct path): the
``websockets`` options both programs pass, and how long a peer may take to say hello.

Keepalive is the link's own (``ping``/``pong`` frames measure the round trip), so the library's
pings are off; no compression (frames are small and the direct path carries TLS); the frame limit
is the wire's; a dial ignores proxy settings (the agent's own address or the configured gateway).
"""

from __future__ import annotations

from typing import Any

from aiclone_wire.messages import MAX_FRAME_BYTES

# A peer that has not sent its hello (or the direct path's challenge) by then is dropped.
HELLO_TIMEOUT_S = 10

# Both ends of a link socket: ``websockets.serve`` and ``websockets.connect``.
SOCKET_OPTIONS: dict[str, Any] = {
    "compression": None,
    "ping_interval": None,
    "close_timeout": 2,
    "max_size": MAX_FRAME_BYTES,
}
# The dialling end: ``websockets.connect(url, **DIAL_OPTIONS, ...)``.
DIAL_OPTIONS: dict[str, Any] = {**SOCKET_OPTIONS, "open_timeout": HELLO_TIMEOUT_S, "proxy": None}
