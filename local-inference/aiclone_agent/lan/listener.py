"""Runs the LAN app (``lan_app``) as a second HTTP server in the agent's process and event loop,
on ``lan.host``:``lan.port``, beside the admin on loopback. A port that cannot be bound leaves the
agent running and says why (``last_error``, in /api/status). ``restart`` applies saved ``lan``
settings in-process (``POST /api/listeners/lan/apply``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from aiclone_agent.core.config import ConfigStore, LanSection
from aiclone_agent.core.listener_state import ListenerState, listen_error_code, listen_error_params

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
        self.last_error: str | None = None  # the OS's words, for the log and API clients
        self.last_error_code: str | None = None  # what the admin page says (aiclone_wire.error_codes)
        self.last_error_params: dict[str, str | int] | None = None
        self.address: str | None = None
        self.state: ListenerState = "stopped"
        self.applied: LanSection | None = None  # the settings it was last started with
        self._server: _Server | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        section = self.config.current.lan
        if self._task is not None:
            return
        self.applied = section
        if not section.enabled:
            self.state = "stopped"
            self._clear_error()
            return
        try:
            family = socket.AF_INET6 if ":" in section.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((section.host, section.port))
        except OSError as exc:
            self.last_error = f"cannot listen on {section.host}:{section.port}: {exc}"
            self.last_error_code = listen_error_code(exc)
            self.last_error_params = listen_error_params(section.host, section.port)
            self.state = "failed"
            log.error("LAN listener: %s", self.last_error)
            return
        config = uvicorn.Config(
            self.app, lifespan="off", log_level=self.log_level, access_log=False, server_header=False
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="lan-listener")
        self.address = f"{section.host}:{section.port}"
        self._clear_error()
        self.state = "running"
        log.info(
            "LAN listener on %s (OpenAI API and chat for LAN token holders; never the admin)", self.address
        )

    def _clear_error(self) -> None:
        self.last_error = self.last_error_code = self.last_error_params = None

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        self.address = None
        if self.state == "running":
            self.state = "stopped"
        if server is None or task is None:
            return
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)

    async def restart(self) -> None:
        """Stop (open connections finish or are closed) and start again with the saved settings."""
        self.state = "restarting"
        await self.stop()
        self.state = "stopped"
        await self.start()

    @property
    def pending(self) -> bool:
        """Saved settings the listener does not run with yet (``restart`` applies them)."""
        return self.applied != self.config.current.lan

    def status(self) -> dict:
        return {
            "enabled": self.config.current.lan.enabled,
            "address": self.address,
            "error": self.last_error,
            "error_code": self.last_error_code,
            "error_params": self.last_error_params,
            "state": self.state,
            "pending": self.pending,
        }
