"""The direct path: a WebSocket listener the gateway dials (``gateway.direct`` in config.yaml).

It serves exactly one thing, ``DIRECT_PATH``: the link's request API, the same frames as the
relay link (``LinkSession``). It is not the admin app: any other path is answered 404, and no
route of the agent's FastAPI app is reachable through it. The gateway proves itself with a
short-lived EdDSA JWT it signs for this agent (``aud`` = the agent id it gave us in its hello,
``typ`` ``agent-direct``), checked against the JWKS cached from the gateway's hello: no shared
secret travels. One live direct session at a time; a newer authenticated one replaces it.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
from typing import TYPE_CHECKING

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from aiclone_agent import __version__
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.gateway.jwks import GatewayTokenError, JwksCache
from aiclone_agent.gateway.session import LinkSession, RunningRequests
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_wire import (
    DIRECT_PATH,
    DIRECT_TOKEN_TYPE,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Error,
    Hello,
    WireError,
    decode,
    encode,
)
from aiclone_wire.paths import PathBoard, PathHealth

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiclone_agent.lan.revocations import RevokedLanTokens

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 10


class DirectListener:
    def __init__(
        self,
        serving: OpenAIServingChat,
        config: ConfigStore,
        jwks: JwksCache,
        running: RunningRequests,
        board: PathBoard,
        agent_id: Callable[[], str | None],
        ping_interval_s: float = 5.0,
        silence_timeout_s: float = 15.0,
    ) -> None:
        self.serving = serving
        self.config = config
        self.jwks = jwks
        self.running = running
        self.board = board
        self.agent_id = agent_id
        self.ping_interval_s = ping_interval_s
        self.silence_timeout_s = silence_timeout_s
        self.last_error: str | None = None
        self._server: Server | None = None
        self._session: tuple[LinkSession, asyncio.Task] | None = None
        # where the gateway's LAN token revocations are kept (set by the runtime)
        self.lan_revocations: RevokedLanTokens | None = None

    @property
    def advertise_url(self) -> str | None:
        section = self.config.current.gateway.direct
        return section.advertise_url or None if section.enabled else None

    async def start(self) -> None:
        section = self.config.current.gateway.direct
        if not section.enabled or self._server is not None:
            return
        self._server = await serve(
            self._handle,
            section.host,
            section.port,
            process_request=self._authenticate,
            max_size=MAX_FRAME_BYTES,
            compression=None,
            ping_interval=None,
            close_timeout=2,
            server_header=None,
        )
        log.info(
            "direct listener on %s:%d (advertised as %s)", section.host, section.port, self.advertise_url
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        self.board.paths["direct"].down()

    def _refuse(self, connection: ServerConnection, status: http.HTTPStatus, reason: str) -> Response:
        self.last_error = reason
        log.warning("direct listener refused %s: %s", connection.remote_address, reason)
        return connection.respond(status, reason + "\n")

    def _authenticate(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path != DIRECT_PATH:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        agent_id = self.agent_id()
        if scheme.lower() != "bearer" or not token.strip():
            return self._refuse(connection, http.HTTPStatus.UNAUTHORIZED, "a gateway token is required")
        if not agent_id:
            return self._refuse(
                connection, http.HTTPStatus.SERVICE_UNAVAILABLE, "not linked to a gateway yet"
            )
        try:
            self.jwks.verify(token.strip(), audience=agent_id, typ=DIRECT_TOKEN_TYPE)
        except GatewayTokenError as exc:
            return self._refuse(connection, http.HTTPStatus.UNAUTHORIZED, f"gateway token refused: {exc}")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        try:
            hello = decode(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
        except (asyncio.TimeoutError, WireError, OSError) as exc:
            log.warning("direct path: no hello from the gateway (%s)", exc)
            return
        except Exception:  # noqa: BLE001 - a socket that closed before its hello
            return
        if not isinstance(hello, Hello) or hello.protocol_version != PROTOCOL_VERSION:
            await ws.send(
                encode(
                    Error(
                        code="protocol_version",
                        message=f"agent speaks protocol {PROTOCOL_VERSION}",
                        status=400,
                    )
                )
            )
            return
        clone = self.config.current.clone
        await ws.send(
            encode(
                Hello(
                    role="agent",
                    software_version=__version__,
                    capabilities=["chat", "openai", "cancel", "credit"],
                    clone_id=clone.id,
                    clone_name=clone.name,
                    models=self.serving.model_ids(),
                )
            )
        )
        # each session has its own health, so the one it replaces going down cannot mark it down
        health = PathHealth("direct")
        session = LinkSession(
            ws,
            self.serving,
            self.running,
            health,
            self.ping_interval_s,
            self.silence_timeout_s,
            lan_revocations=self.lan_revocations,
        )
        previous, self._session = self._session, (session, asyncio.current_task())
        self.board.paths["direct"] = health
        if previous is not None:  # one live session: the newer replaces the older at once
            previous[1].cancel()
        self.last_error = None
        log.info("direct path from the gateway is up")
        try:
            await session.serve()
        except Exception as exc:  # noqa: BLE001 - the socket dropped: the path is down, say why
            self.last_error = f"{exc.__class__.__name__}: {exc}"
        finally:
            if self._session is not None and self._session[0] is session:
                self._session = None
            log.info(
                "direct path from the gateway is down (%s)",
                session.close_reason or self.last_error or "closed",
            )
