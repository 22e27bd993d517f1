"""Sends a huge request body the way an attacker would, over a raw socket, and reads the answer.

``declared``: a ``Content-Length`` of the whole size up front; otherwise ``Transfer-Encoding:
chunked`` with no size at all. A reader thread takes the answer the moment it arrives, and the
sender stops as soon as it is there or the server stops reading, so the test never pushes more
than the server is willing to take. Blocking sockets on purpose: the kernel keeps an answer that
arrived before the server's reset readable, where an asyncio transport would drop it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

PIECE = b"x" * (256 * 1024)


@dataclass
class Answer:
    status: int
    body: bytes
    sent_bytes: int


def _read_response(sock: socket.socket, into: dict) -> None:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                return
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(body) < length:
            more = sock.recv(65536)
            if not more:
                break
            body += more
        into["status"], into["body"] = int(head.split(b" ", 2)[1]), body[:length]
    except OSError as exc:
        into["error"] = exc


def _send_oversized(port: int, path: str, total: int, declared: bool, host: str) -> Answer:
    sock = socket.create_connection((host, port), timeout=60)
    answer: dict = {}
    reader = threading.Thread(target=_read_response, args=(sock, answer), daemon=True)
    reader.start()
    framing = f"Content-Length: {total}" if declared else "Transfer-Encoding: chunked"
    sent = 0
    try:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode()
        )
        while sent < total and reader.is_alive():
            piece = PIECE[: min(len(PIECE), total - sent)]
            sock.sendall(piece if declared else b"%x\r\n%s\r\n" % (len(piece), piece))
            sent += len(piece)
    except OSError:
        pass  # the server stopped reading: its answer is waiting in the kernel
    reader.join(30)
    sock.close()
    if "status" not in answer:
        raise AssertionError(f"no answer after {sent} bytes: {answer.get('error')}")
    return Answer(answer["status"], answer["body"], sent)


async def send_oversized(port: int, path: str, total: int, declared: bool, host: str = "127.0.0.1") -> Answer:
    return await asyncio.to_thread(_send_oversized, port, path, total, declared, host)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")
