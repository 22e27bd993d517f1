"""The direct path: the gateway dials the listener an agent advertised in its relay hello.

The hello (over the relay link: the agent token, over TLS) names ``direct_url`` (``wss://host:port``
only) and ``direct_fingerprint`` (SHA-256 of the listener's self-signed certificate). Before each
dial the host is resolved and every address checked (``direct_target``: no loopback, link-local,
metadata, private or own address unless the owner allows its network); the dial goes to the
checked address. TLS is not verified against any authority: the peer's certificate must have the
announced fingerprint, checked before a single byte of HTTP is sent (``PinnedConnection``). Then
the agent challenges us with a nonce and our hello answers with a short-lived JWT signed over it
(``TokenIssuer.issue_direct``); the socket then goes to the hub as the agent's direct path (an
``AgentLink``, the same multiplexed request streams as the relay link). When the path drops it
dials again after a capped, jittered backoff, for as long as the agent's advertised URL stands.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from aiclone_gateway import __version__
from aiclone_gateway.core.tokens import TokenIssuer
from aiclone_gateway.relay.direct_target import DirectTargetRefusedError, IPNetwork, checked_address
from aiclone_wire import (
    PROTOCOL_VERSION,
    DirectChallenge,
    Error,
    Hello,
    WireError,
    decode,
    encode,
)
from aiclone_wire.dial import DIAL_OPTIONS, HELLO_TIMEOUT_S
from aiclone_wire.direct import (
    DirectAddress,
    DirectAddressError,
    certificate_fingerprint,
    parse_direct_address,
)

log = logging.getLogger(__name__)


class CertificatePinError(Exception):
    """The direct listener showed another certificate than the one its agent announced."""


class PinnedConnection(ClientConnection):
    """A client connection that refuses to start its HTTP handshake unless the TLS peer's
    certificate has ``fingerprint`` (set per dial by ``pinned``)."""

    fingerprint = ""

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        ssl_object = self.transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        seen = certificate_fingerprint(der) if der else "none"
        if not hmac.compare_digest(seen, self.fingerprint):
            raise CertificatePinError(
                f"the listener's certificate is sha256 {seen}, the agent announced {self.fingerprint}"
            )
        await super().handshake(*args, **kwargs)


def pinned(fingerprint: str) -> type[PinnedConnection]:
    return type("PinnedConnection", (PinnedConnection,), {"fingerprint": fingerprint})


def pinning_context() -> ssl.SSLContext:
    """TLS without a certificate authority: the fingerprint check is the trust decision."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class DialedSocket:
    """A dialed ``websockets`` connection with the (Starlette) methods ``AgentLink`` uses."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def receive_text(self) -> str:
        try:
            message = await self.ws.recv()
        except ConnectionClosed as exc:
            raise WebSocketDisconnect(exc.rcvd.code if exc.rcvd else 1006) from exc
        return message if isinstance(message, str) else message.decode()

    async def send_text(self, text: str) -> None:
        try:
            await self.ws.send(text)
        except ConnectionClosed as exc:
            raise WebSocketDisconnect(1006) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)


ServeDirect = Callable[[DialedSocket, str, Hello], Awaitable[None]]


class DirectDialer:
    """Keeps one dialing task per agent that advertised a direct URL with its certificate."""

    def __init__(
        self,
        tokens: TokenIssuer,
        token_ttl_s: int,
        redial_max_s: float,
        allowed_networks: list[IPNetwork] | None = None,
        public_host: str | None = None,
    ) -> None:
        self.tokens = tokens
        self.token_ttl_s = token_ttl_s
        self.redial_max_s = redial_max_s
        self.allowed_networks = allowed_networks or []
        self.public_host = public_host
        self.last_error: dict[str, str] = {}
        self._tasks: dict[str, tuple[tuple[str, str], asyncio.Task]] = {}

    def follow(
        self, agent_id: str, advertised: str | None, fingerprint: str | None, serve: ServeDirect
    ) -> None:
        """Dial ``advertised``, pinned to ``fingerprint``, for ``agent_id`` (a new URL or
        certificate replaces the old; ``None`` stops)."""
        wanted = (advertised or "", fingerprint or "")
        current = self._tasks.get(agent_id)
        if current is not None and advertised and current[0] == wanted and not current[1].done():
            return
        self.forget(agent_id)
        if not advertised:
            return
        try:
            target = parse_direct_address(advertised)
        except DirectAddressError as exc:
            return self._refuse(agent_id, f"direct address {advertised!r} refused: {exc}")
        if not fingerprint:
            return self._refuse(
                agent_id, "the agent announced no certificate fingerprint for its direct path"
            )
        task = asyncio.create_task(
            self._dial(agent_id, target, fingerprint, serve), name=f"direct-{agent_id}"
        )
        self._tasks[agent_id] = (wanted, task)

    def _refuse(self, agent_id: str, reason: str) -> None:
        self.last_error[agent_id] = reason
        log.warning("direct path to agent %s not dialed: %s", agent_id, reason)

    def forget(self, agent_id: str) -> None:
        current = self._tasks.pop(agent_id, None)
        if current is not None:
            current[1].cancel()

    async def close(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _dial(self, agent_id: str, target: DirectAddress, fingerprint: str, serve: ServeDirect) -> None:
        attempt = 0
        while True:
            try:
                address = await asyncio.wait_for(
                    checked_address(target, self.allowed_networks, self.public_host), HELLO_TIMEOUT_S
                )
                async with connect(
                    target.url,
                    host=address,
                    port=target.port,
                    ssl=pinning_context(),
                    server_hostname=target.host,  # SNI only: the pin decides, not the name
                    create_connection=pinned(fingerprint),
                    **DIAL_OPTIONS,
                ) as ws:
                    hello = await self._prove(ws, agent_id)
                    attempt = 0
                    self.last_error.pop(agent_id, None)
                    log.info("direct path to agent %s up (%s, pinned)", agent_id, target)
                    await serve(DialedSocket(ws), agent_id, hello)
                    self.last_error[agent_id] = "the direct path closed"
            except DirectTargetRefusedError as exc:
                self.last_error[agent_id] = f"direct address refused: {exc}"
                log.warning("direct path to agent %s not dialed: %s", agent_id, exc)
            except CertificatePinError as exc:
                self.last_error[agent_id] = f"certificate mismatch: {exc}"
                log.warning("direct path to agent %s refused: %s", agent_id, exc)
            except InvalidStatus as exc:
                self.last_error[agent_id] = (
                    f"the agent refused the direct path (HTTP {exc.response.status_code})"
                )
            except (OSError, asyncio.TimeoutError, WebSocketException, WireError) as exc:
                self.last_error[agent_id] = f"{exc.__class__.__name__}: {exc}"
            delay = min(self.redial_max_s, 0.5 * 2**attempt) * random.uniform(0.8, 1.0)
            attempt = min(attempt + 1, 16)
            log.info(
                "direct path to agent %s down (%s); dialing again in %.1f s",
                agent_id,
                self.last_error[agent_id],
                delay,
            )
            await asyncio.sleep(delay)

    async def _prove(self, ws: ClientConnection, agent_id: str) -> Hello:
        """Answer the agent's challenge with our signed hello; its hello back opens the path."""
        challenge = decode(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
        if not isinstance(challenge, DirectChallenge):
            raise WireError(f"expected the agent's challenge, got {challenge.type}")
        await ws.send(
            encode(
                Hello(
                    role="gateway",
                    software_version=__version__,
                    capabilities=["chat", "openai", "credit"],
                    direct_proof=self.tokens.issue_direct(agent_id, self.token_ttl_s, challenge.nonce),
                )
            )
        )
        hello = decode(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
        if isinstance(hello, Error):
            raise WireError(f"the agent refused our hello: {hello.message}")
        if not isinstance(hello, Hello) or hello.protocol_version != PROTOCOL_VERSION:
            raise WireError(f"unexpected answer to hello: {hello.type}")
        return hello
