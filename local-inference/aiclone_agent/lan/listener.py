"""Runs the LAN app (``lan_app``) as a second HTTP server in the agent's process and event loop,
on ``lan.host``:``lan.port``, beside the admin on loopback. A port that cannot be bound leaves the
agent running and says why (``last_error``, in /api/status)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from aiclone_agent.core.config import ConfigStore

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the admin's server owns the process's signals


class LanListener:
    def __init__(self, config: ConfigStore, app: FastAPI, log_level: str = "info") -> None:
        self.config = config
        self.app = app
        self.log_level = log_level
        self.last_error: str | None = None
        self.address: str | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        section = self.config.current.lan
        if not section.enabled or self._task is not None:
            return
        try:
            family = socket.AF_INET6 if ":" in section.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((section.host, section.port))
        except OSError as exc:
            self.last_error = f"cannot listen on {section.host}:{section.port}: {exc}"
            log.error("LAN listener: %s", self.last_error)
            return
        config = uvicorn.Config(
            self.app, lifespan="off", log_level=self.log_level, access_log=False, server_header=False
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="lan-listener")
        self.address = f"{section.host}:{section.port}"
        self.last_error = None
        log.info(
            "LAN listener on %s (OpenAI API and chat for LAN token holders; never the admin)", self.address
        )

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        self.address = None
        if server is None or task is None:
            return
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)

    def status(self) -> dict:
        return {"enabled": self.config.current.lan.enabled, "address": self.address, "error": self.last_error}
