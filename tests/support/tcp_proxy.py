"""A TCP proxy the tests control, for network faults between real processes.

It listens on a free loopback port and forwards to ``target_port`` on its own thread (its own
event loop, so a test blocking its loop never stalls the traffic). Faults:
``cut()`` closes every connection and refuses new ones (a peer sees the path drop at once);
``blackhole()`` keeps connections open but silently drops every byte both ways (a peer only
notices by missed probes); ``latency(s)`` delays each forwarded piece by ``s`` seconds each way;
``restore()`` ends the fault.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = "pass"  # pass | cut | blackhole
        self.delay_s = 0.0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"tcp-proxy-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TCP proxy did not start")
        return self

    def stop(self) -> None:
        self._call(self._close_all)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def cut(self) -> None:
        self.mode = "cut"
        self._call(self._close_all)

    def blackhole(self) -> None:
        self.mode = "blackhole"

    def latency(self, seconds: float) -> None:
        self.delay_s = seconds

    def restore(self) -> None:
        self.mode = "pass"
        self.delay_s = 0.0

    def _call(self, fn) -> None:
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(run)
            done.wait(5)

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )
        for end in (writer, upstream_writer):
            self._writers.discard(end)
            end.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward one direction through a delay line: each piece leaves ``delay_s`` after it came."""
        line: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

        async def send() -> None:
            while (item := await line.get()) is not None:
                due, data = item
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if self.mode == "pass":
                    writer.write(data)
                    await writer.drain()

        sender = asyncio.create_task(send())
        try:
            while data := await reader.read(65536):
                if self.mode == "pass":
                    line.put_nowait((time.monotonic() + self.delay_s, data))
            line.put_nowait(None)
            await sender
        finally:
            sender.cancel()
