"""The direct path: a TLS WebSocket listener the gateway dials (``gateway.direct`` in config.yaml).

It serves exactly one thing, ``DIRECT_PATH``: the link's request API, the same frames as the
relay link (``LinkSession``). It is not the admin app: any other path is answered 404, and no
route of the agent's FastAPI app is reachable through it.

TLS uses the agent's own self-signed certificate (``certificate``); the gateway learnt its
fingerprint from the relay link's hello and pins it. The gateway then proves itself to us: we
send a fresh nonce for this socket (``DirectChallenge``), and its hello must carry a short-lived
EdDSA JWT it signed for this agent (``aud`` = the agent id it gave us, ``typ`` ``agent-direct``)
with that nonce in it, checked against the JWKS cached from the relay link. A captured handshake
is worthless on any other socket (its nonce is not that socket's), and a token opens one session
at most. One live direct session at a time; a newer authenticated one replaces it.

Requests and answers only: frames that change the agent's security state (LAN revocations) and
the Telegram hand-over are taken from the relay link alone, so this session has no store for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http
import logging
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from aiclone_agent import __version__
from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.core.config import ConfigStore, DirectSection
from aiclone_agent.core.listener_state import ListenerState, listen_error_code, listen_error_params
from aiclone_agent.gateway.certificate import DirectCertificate, load_or_create_certificate
from aiclone_agent.gateway.jwks import GatewayTokenError, JwksCache
from aiclone_agent.gateway.session import LinkSession, RunningRequests
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_wire import (
    DIRECT_PATH,
    DIRECT_TOKEN_TYPE,
    PROTOCOL_VERSION,
    DirectChallenge,
    Error,
    Hello,
    WireError,
    decode,
    encode,
)
from aiclone_wire.dial import HELLO_TIMEOUT_S, SOCKET_OPTIONS
from aiclone_wire.direct import DIRECT_NONCE_BYTES
from aiclone_wire.paths import PathBoard, PathHealth

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)
# Sockets still proving themselves at once; more are answered 503 (each holds a nonce and a timer).
MAX_PENDING_HANDSHAKES = 16


class DirectProofError(Exception):
    """The gateway's hello did not prove it is the gateway for this socket; the message says why."""


class DirectListener:
    def __init__(
        self,
        serving: OpenAIServingChat,
        memory: ChatMemory,
        config: ConfigStore,
        jwks: JwksCache,
        running: RunningRequests,
        board: PathBoard,
        agent_id: Callable[[], str | None],
        tls_dir: Path,
        ping_interval_s: float = 5.0,
        silence_timeout_s: float = 15.0,
    ) -> None:
        self.serving = serving
        self.memory = memory
        self.config = config
        self.jwks = jwks
        self.running = running
        self.board = board
        self.agent_id = agent_id
        self.tls_dir = tls_dir
        self.ping_interval_s = ping_interval_s
        self.silence_timeout_s = silence_timeout_s
        self.last_error: str | None = None  # for the log and API clients: may carry a library's words
        self.last_error_code: str | None = None  # what the admin page says (aiclone_wire.error_codes)
        self.last_error_params: dict[str, str | int] | None = None
        self.state: ListenerState = "stopped"
        self.applied: DirectSection | None = None  # the settings it was last started with
        self._server: Server | None = None
        self._session: tuple[LinkSession, asyncio.Task] | None = None
        self._certificate: DirectCertificate | None = None
        self._pending = 0
        # proofs already used (jti -> exp): a token opens one session, even within its lifetime
        self._spent: dict[str, float] = {}

    @property
    def advertise_url(self) -> str | None:
        section = self.config.current.gateway.direct
        return section.advertise_url or None if section.enabled else None

    @property
    def certificate(self) -> DirectCertificate:
        if self._certificate is None:
            self._certificate = load_or_create_certificate(self.tls_dir)
        return self._certificate

    @property
    def fingerprint(self) -> str | None:
        """What the relay link's hello announces (None: no direct path advertised)."""
        return self.certificate.fingerprint if self.advertise_url else None

    async def start(self) -> None:
        section = self.config.current.gateway.direct
        if self._server is not None:
            return
        self.applied = section
        if not section.enabled:
            self.state = "stopped"
            return
        try:
            self._server = await serve(
                self._handle,
                section.host,
                section.port,
                ssl=self.certificate.server_context(),
                process_request=self._route,
                **SOCKET_OPTIONS,
                server_header=None,
            )
        except OSError as exc:  # the agent keeps running; the admin shows why
            self._fail(
                f"cannot listen on {section.host}:{section.port}: {exc}",
                code=listen_error_code(exc),
                params=listen_error_params(section.host, section.port),
            )
            self.state = "failed"
            log.error("direct listener: %s", self.last_error)
            return
        self.state = "running"
        self._fail(None, code=None)
        log.info(
            "direct listener on %s:%d (TLS, certificate sha256 %s; advertised as %s)",
            section.host,
            section.port,
            self.certificate.fingerprint,
            self.advertise_url,
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if self.state == "running":
            self.state = "stopped"
        if server is not None:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 5)
        self.board.paths["direct"].down()

    async def restart(self) -> None:
        """Stop (a gateway session on it ends; the gateway redials) and start with the saved settings."""
        self.state = "restarting"
        await self.stop()
        self.state = "stopped"
        await self.start()

    @property
    def pending(self) -> bool:
        """Saved settings the listener does not run with yet (``restart`` applies them)."""
        return self.applied != self.config.current.gateway.direct

    @property
    def address(self) -> str | None:
        section = self.applied
        return f"{section.host}:{section.port}" if self._server is not None and section else None

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path != DIRECT_PATH:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")
        if not self.agent_id():
            return self._refuse_http(
                connection,
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                "not linked to a gateway yet",
                code="direct_not_linked",
            )
        if self._pending >= MAX_PENDING_HANDSHAKES:
            return self._refuse_http(
                connection,
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                "too many handshakes at once",
                code="direct_busy",
            )
        return None

    def _fail(
        self, reason: str | None, *, code: str | None, params: dict[str, str | int] | None = None
    ) -> None:
        """Say why the path is down: ``reason`` (a library's words too) for the log and API
        clients, ``code`` for the admin page (None, None: it is not)."""
        self.last_error, self.last_error_code, self.last_error_params = reason, code, params

    def _refuse_http(
        self, connection: ServerConnection, status: http.HTTPStatus, reason: str, *, code: str
    ) -> Response:
        self._fail(reason, code=code)
        log.warning("direct listener refused %s: %s", connection.remote_address, reason)
        return connection.respond(status, reason + "\n")

    async def _handle(self, ws: ServerConnection) -> None:
        self._pending += 1
        try:
            hello = await self._challenge(ws)
        except DirectProofError as exc:
            self._fail(f"the gateway's proof was refused: {exc}", code="direct_proof_refused")
            log.warning("direct listener refused %s: %s", ws.remote_address, self.last_error)
            with contextlib.suppress(Exception):
                await ws.send(encode(Error(code="unauthorized", message=str(exc), status=401)))
                await ws.close(4401, "unauthorized")
            return
        except (asyncio.TimeoutError, WireError, OSError) as exc:
            log.warning("direct path: no hello from the gateway (%s)", exc)
            return
        except Exception:  # noqa: BLE001 - a socket that closed before its hello
            return
        finally:
            self._pending -= 1
        if hello is None:
            return
        await self._serve(ws)

    async def _challenge(self, ws: ServerConnection) -> Hello | None:
        """Send this socket's nonce; the gateway's hello must carry a fresh proof signed over it."""
        nonce = secrets.token_urlsafe(DIRECT_NONCE_BYTES)
        await ws.send(encode(DirectChallenge(nonce=nonce)))
        hello = decode(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
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
            return None
        self._check_proof(hello.direct_proof, nonce)
        return hello

    def _check_proof(self, proof: str | None, nonce: str) -> None:
        agent_id = self.agent_id()
        if not proof:
            raise DirectProofError("a gateway proof is required")
        if not agent_id:
            raise DirectProofError("not linked to a gateway yet")
        try:
            claims = self.jwks.verify(proof, audience=agent_id, typ=DIRECT_TOKEN_TYPE)
        except GatewayTokenError as exc:
            raise DirectProofError(f"gateway token refused: {exc}") from None
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise DirectProofError("the proof answers another handshake's challenge (replayed?)")
        now = time.time()
        self._spent = {jti: exp for jti, exp in self._spent.items() if exp > now}
        if claims["jti"] in self._spent:
            raise DirectProofError("the proof was already used")
        self._spent[claims["jti"]] = float(claims["exp"])

    async def _serve(self, ws: ServerConnection) -> None:
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
        # no LAN revocations store and no Telegram: those come over the relay link only
        session = LinkSession(
            ws, self.serving, self.memory, self.running, health, self.ping_interval_s, self.silence_timeout_s
        )
        current = asyncio.current_task()
        assert current is not None  # websockets runs each connection's handler in its own task
        previous, self._session = self._session, (session, current)
        self.board.paths["direct"] = health
        if previous is not None:  # one live session: the newer (authenticated) replaces the older
            previous[1].cancel()
        self._fail(None, code=None)
        log.info("direct path from the gateway is up")
        try:
            await session.serve()
        except Exception as exc:  # noqa: BLE001 - the socket dropped: the path is down, say why
            self._fail(f"{exc.__class__.__name__}: {exc}", code="direct_path_lost")
        finally:
            if self._session is not None and self._session[0] is session:
                self._session = None
            log.info(
                "direct path from the gateway is down (%s)",
                session.close_reason or self.last_error or "closed",
            )
