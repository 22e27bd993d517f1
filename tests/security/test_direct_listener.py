"""The direct path between the gateway and the agent, both ways.

The agent's listener: TLS with its own certificate; only the gateway, answering this socket's
one-time challenge with a token it signed for this agent, gets in, only to the link's request
API (never the admin), and nothing said there changes the agent's security state.
The gateway's dialer: it dials only ``wss://host:port`` on a public (or owner-allowed) address,
and says nothing before the listener shows the certificate its agent announced over the relay link.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aiclone_agent.gateway.certificate import load_or_create_certificate
from aiclone_gateway.core.tokens import TokenIssuer, load_or_create_key
from aiclone_wire import (
    DirectChallenge,
    Error,
    Hello,
    LanRevocations,
    Ping,
    Pong,
    RevokedToken,
    decode,
    encode,
)
from tests.support.fixtures.gateways import ChatUser, GatewayProcess, create_agent_token
from tests.support.fixtures.paths import TwoPaths
from tests.support.tcp_proxy import free_port

ISSUER, AUDIENCE = "aiclone-gateway", "aiclone"  # the gateway's defaults (core/config.py)
WAIT_S = 30


async def _agent_id(paths: TwoPaths) -> str:
    (linked,) = [a for a in (await paths.owner.http.get("/api/agents")).json() if a["linked"]]
    return linked["id"]


def _claims(agent_id: str, nonce: str | None, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": agent_id,
        "sub": "gateway",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "typ": "agent-direct",
        "nonce": nonce,
    }
    return {k: v for k, v in {**claims, **changes}.items() if v is not None}


def _insecure_tls() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _gateway_hello(proof: str | None) -> str:
    return encode(Hello(role="gateway", capabilities=["chat"], direct_proof=proof))


@asynccontextmanager
async def _direct(paths: TwoPaths, path: str = "/agent/direct") -> AsyncIterator[websockets.ClientConnection]:
    async with websockets.connect(
        f"wss://127.0.0.1:{paths.direct_port}{path}", ssl=_insecure_tls(), open_timeout=10
    ) as ws:
        yield ws


async def _handshake(paths: TwoPaths, hello: Callable[[str], str]) -> tuple[bool, str]:
    """Play the gateway on the direct listener: (accepted, the agent's answer or refusal)."""
    async with _direct(paths) as ws:
        challenge = decode(await asyncio.wait_for(ws.recv(), 10))
        assert isinstance(challenge, DirectChallenge), challenge
        await ws.send(hello(challenge.nonce))
        answer = decode(await asyncio.wait_for(ws.recv(), 10))
        if isinstance(answer, Hello):
            return True, answer.clone_name
        assert isinstance(answer, Error) and answer.status == 401, answer
        return False, answer.message


def _issuer(paths: TwoPaths) -> TokenIssuer:
    return TokenIssuer(load_or_create_key(paths.gateway.key_file), ISSUER, AUDIENCE)


async def test_only_a_fresh_proof_over_this_sockets_challenge_opens_the_direct_path(two_paths: TwoPaths):
    agent_id = await _agent_id(two_paths)
    issuer = _issuer(two_paths)
    key = load_or_create_key(two_paths.gateway.key_file)
    stranger = Ed25519PrivateKey.generate()

    def sign(claims: dict, with_key=key) -> str:
        return jwt.encode(claims, with_key, algorithm="EdDSA", headers={"kid": issuer.kid})

    user_access, _ = issuer.issue("some-user", "access", 60)  # a real user's token: wrong aud and typ
    past = int(time.time()) - 600
    attacks: dict[str, Callable[[str], str | None]] = {
        "no proof": lambda nonce: None,
        "garbage": lambda nonce: "not.a.token",
        "forged (another key)": lambda nonce: sign(_claims(agent_id, nonce), stranger),
        "expired": lambda nonce: sign(_claims(agent_id, nonce, iat=past, nbf=past, exp=past + 60)),
        "another agent's": lambda nonce: sign(_claims("someone-else", nonce)),
        "wrong issuer": lambda nonce: sign(_claims(agent_id, nonce, iss="evil")),
        "wrong type": lambda nonce: sign(_claims(agent_id, nonce, typ="access")),
        "a user's access token": lambda nonce: user_access,
        "unsigned": lambda nonce: jwt.encode(_claims(agent_id, nonce), None, algorithm="none"),
        "no nonce (the old token)": lambda nonce: sign(_claims(agent_id, None)),
        "another challenge's nonce": lambda nonce: issuer.issue_direct(agent_id, 60, nonce[::-1]),
    }
    for attack, proof in attacks.items():
        accepted, answer = await _handshake(
            two_paths, lambda nonce, proof=proof: _gateway_hello(proof(nonce))
        )
        assert not accepted, (attack, answer)
    # the real thing (what the gateway itself presents) gets in
    accepted, _ = await _handshake(
        two_paths, lambda nonce: _gateway_hello(issuer.issue_direct(agent_id, 60, nonce))
    )
    assert accepted
    log = two_paths.agent.log.read_text(encoding="utf-8")
    assert "token expired" in log and "Signature verification failed" in log
    assert "another handshake's challenge" in log


async def test_a_captured_handshake_replayed_is_refused(two_paths: TwoPaths):
    agent_id = await _agent_id(two_paths)
    issuer = _issuer(two_paths)
    captured: list[str] = []

    def once(nonce: str) -> str:
        captured.append(_gateway_hello(issuer.issue_direct(agent_id, 60, nonce)))
        return captured[-1]

    assert (await _handshake(two_paths, once))[0]
    # the same hello, word for word, on new sockets: each has its own challenge
    for _ in range(2):
        accepted, answer = await _handshake(two_paths, lambda nonce: captured[0])
        assert not accepted and "another handshake's challenge" in answer, answer
    # the agent's status says it as a code too (its words are for the log); the gateway's own
    # redial, once it is back, clears both
    gateway = (await two_paths.status("agent"))["gateway"]
    if gateway["direct_error"] is not None:
        assert gateway["direct_error"].startswith("the gateway's proof was refused"), gateway
        assert gateway["direct_error_code"] == "direct_proof_refused", gateway
    else:
        assert gateway["direct_error_code"] is None, gateway
    # the gateway's own direct path comes back (a replay never replaces it for good)
    await two_paths.wait_mode("hybrid", timeout=WAIT_S)


async def test_a_revocation_list_pushed_over_the_direct_path_is_ignored(two_paths: TwoPaths):
    agent_id = await _agent_id(two_paths)
    issuer = _issuer(two_paths)

    async def revocations() -> dict:
        return (await two_paths.status("agent"))["lan"]["revocations"]

    before = await revocations()
    async with _direct(two_paths) as ws:
        challenge = decode(await asyncio.wait_for(ws.recv(), 10))
        assert isinstance(challenge, DirectChallenge)
        await ws.send(_gateway_hello(issuer.issue_direct(agent_id, 60, challenge.nonce)))
        assert isinstance(decode(await asyncio.wait_for(ws.recv(), 10)), Hello)
        revoked = [RevokedToken(jti=uuid.uuid4().hex, expires_at=time.time() + 3600) for _ in range(3)]
        await ws.send(encode(LanRevocations(revoked=revoked)))
        await ws.send(encode(Ping(sent_at=123.0)))
        while True:  # frames are served in order: the pong comes after the list was handled
            frame = decode(await asyncio.wait_for(ws.recv(), 10))
            if isinstance(frame, Pong) and frame.sent_at == 123.0:
                break
    assert await revocations() == before
    assert "LAN revocations on the direct path ignored" in two_paths.agent.log.read_text(encoding="utf-8")
    await two_paths.wait_mode("hybrid", timeout=WAIT_S)


async def test_the_direct_listener_speaks_only_tls_with_the_announced_certificate(two_paths: TwoPaths):
    # plain ws:// (what the listener spoke before) gets no WebSocket
    with pytest.raises((OSError, websockets.exceptions.WebSocketException, asyncio.TimeoutError)):
        async with websockets.connect(
            f"ws://127.0.0.1:{two_paths.direct_port}/agent/direct", open_timeout=10
        ):
            pass
    # the certificate it shows is the one it keeps (0600) under its data dir
    data = two_paths.agent.home / "data"
    certificate = load_or_create_certificate(data)
    for file in (certificate.key_path, certificate.cert_path):
        assert file.stat().st_mode & 0o077 == 0, file
    async with _direct(two_paths) as ws:
        der = ws.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
    from aiclone_wire.direct import certificate_fingerprint

    assert certificate_fingerprint(der) == certificate.fingerprint


@pytest.mark.parametrize("path", ["/api/status", "/api/clone", "/", "/admin", "/v1/models", "/agent/ws"])
async def test_the_direct_listener_never_serves_the_admin(two_paths: TwoPaths, path: str):
    agent_id = await _agent_id(two_paths)
    token = _issuer(two_paths).issue_direct(agent_id, 60, "x" * 43)
    async with httpx.AsyncClient(
        base_url=f"https://127.0.0.1:{two_paths.direct_port}", timeout=10, verify=_insecure_tls()
    ) as http:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            response = await http.get(path, headers=headers)
            assert response.status_code == 404, (path, response.status_code)
            assert response.text == "not found\n"
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with _direct(two_paths, path):
            pass
    assert refused.value.response.status_code == 404


# --- the gateway's side: where it dials, and to whom it speaks ---------------------------------

ALLOWED_HOST = "127.0.0.2"  # the one loopback address this gateway is allowed to dial (a stand-in VPN)


@pytest.fixture(scope="module")
def dialing_gateway(tmp_path_factory) -> Iterator[GatewayProcess]:
    home = tmp_path_factory.mktemp("dialing-gateway")
    process = GatewayProcess(
        home,
        f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}",
        direct_allowed_networks=f'["{ALLOWED_HOST}/32"]',
        direct_redial_max_s=1,
    ).start(timeout=180)
    yield process
    process.stop()


@dataclass
class Listener:
    """A TCP server (TLS with ``context``) that records every connection and the bytes each one
    sent after the TLS handshake (if any)."""

    host: str
    port: int = field(default_factory=free_port)
    context: ssl.SSLContext | None = None
    connections: int = 0
    received: list[bytes] = field(default_factory=list)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        data = b""
        try:
            # until the peer closes, or the end of an HTTP request's head
            while b"\r\n\r\n" not in data and (chunk := await asyncio.wait_for(reader.read(65_536), 5)):
                data += chunk
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass
        self.received.append(data)
        writer.close()

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[Listener]:
        # TLS from the first byte: a ``start_tls`` in the handler would race the client's hello,
        # which the plain stream may already have read (the dial then timed out after 10 s)
        server = await asyncio.start_server(self._handle, self.host, self.port, ssl=self.context)
        try:
            yield self
        finally:
            server.close()


@asynccontextmanager
async def _fake_agent(
    gateway: GatewayProcess, token: str, direct_url: str, fingerprint: str
) -> AsyncIterator[str]:
    """An agent token's holder on the relay link, advertising any direct address: yields its id."""
    async with websockets.connect(
        f"{gateway.ws_url}/agent/ws", additional_headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        await ws.send(
            encode(
                Hello(role="agent", clone_name="fake", direct_url=direct_url, direct_fingerprint=fingerprint)
            )
        )
        reply = decode(await asyncio.wait_for(ws.recv(), 10))
        assert isinstance(reply, Hello) and reply.agent_id

        async def answer_pings() -> None:
            async for text in ws:
                frame = decode(text)
                if isinstance(frame, Ping):
                    await ws.send(encode(Pong(sent_at=frame.sent_at)))

        pings = asyncio.create_task(answer_pings())
        try:
            yield reply.agent_id
        finally:
            pings.cancel()


async def _wait_log(gateway: GatewayProcess, pattern: str, wait_s: float = WAIT_S) -> str:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        found = re.search(pattern, gateway.log.read_text(encoding="utf-8"))
        if found:
            return found.group(0)
        await asyncio.sleep(0.1)
    direct = [line for line in gateway.log.read_text(encoding="utf-8").splitlines() if "direct" in line]
    raise AssertionError(f"the gateway never logged {pattern!r}; its direct-path lines: {direct[-8:]}")


async def _until(condition: Callable[[], object]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def dialing_owner(dialing_gateway: GatewayProcess) -> AsyncIterator[ChatUser]:
    owner = ChatUser(dialing_gateway, f"dial-{uuid.uuid4().hex[:8]}@example.com")
    await owner.register()
    await owner.login()
    yield owner
    await owner.close()


@pytest.fixture
async def agent_token(dialing_owner: ChatUser) -> str:
    """A fresh agent of the owner's (its own id in the gateway's log)."""
    return await create_agent_token(dialing_owner)


async def test_the_gateway_refuses_a_listener_with_another_certificate(
    dialing_gateway: GatewayProcess, agent_token: str, tmp_path: Path
):
    real = load_or_create_certificate(tmp_path / "real")
    impostor = load_or_create_certificate(tmp_path / "impostor")
    listener = Listener(ALLOWED_HOST, context=impostor.server_context())
    async with listener.serving():
        url = f"wss://{ALLOWED_HOST}:{listener.port}"
        async with _fake_agent(dialing_gateway, agent_token, url, real.fingerprint) as agent_id:
            refused = rf"direct path to agent {agent_id} refused: the listener's certificate"
            await _wait_log(dialing_gateway, rf"agent {agent_id} down \(certificate mismatch")
            # a dial, and the redial after its backoff: refused again, never sent a request
            await _until(
                lambda: len(re.findall(refused, dialing_gateway.log.read_text(encoding="utf-8"))) >= 2
            )
            assert len(re.findall(refused, dialing_gateway.log.read_text(encoding="utf-8"))) >= 2
            # the gateway saw the certificate in the TLS handshake and said nothing at all after it
            # (a handshake its abort cut short on this side records nothing)
            assert all(data == b"" for data in listener.received), listener.received
    # the control: shown the announced certificate, the gateway goes on to its request (no token in it)
    listener = Listener(ALLOWED_HOST, context=real.server_context())
    url = f"wss://{ALLOWED_HOST}:{listener.port}"
    async with (
        listener.serving(),
        _fake_agent(dialing_gateway, agent_token, url, real.fingerprint),
    ):
        await _until(
            lambda: any(data.startswith(b"GET /agent/direct HTTP/1.1\r\n") for data in listener.received)
        )
    assert any(data.startswith(b"GET /agent/direct HTTP/1.1\r\n") for data in listener.received), (
        listener.received
    )
    assert not any(b"authorization" in data.lower() for data in listener.received), listener.received


@pytest.mark.parametrize(
    "advertised",
    [
        "http://127.0.0.1:{port}/latest/meta-data/?x=",
        "wss://127.0.0.1:{port}",  # well-formed, but loopback (only 127.0.0.2 is allowed here)
        "wss://localhost:{port}",
        "wss://[::ffff:127.0.0.1]:{port}",
        "wss://127.0.0.2:{port}/latest/meta-data/",  # an allowed host, but a path of its own
    ],
)
async def test_an_agent_token_cannot_aim_the_gateway_anywhere(
    dialing_gateway: GatewayProcess, agent_token: str, advertised: str
):
    listener = Listener("127.0.0.1")
    other = Listener(ALLOWED_HOST, port=listener.port)
    async with listener.serving(), other.serving():
        url = advertised.format(port=listener.port)
        async with _fake_agent(dialing_gateway, agent_token, url, "0" * 64) as agent_id:
            # the gateway's decision, or its dial, whichever comes first
            refused = rf"direct path to agent {agent_id} not dialed: (direct address .*{listener.port}|.*resolves to)"
            await _until(
                lambda: (
                    listener.connections
                    or other.connections
                    or re.search(refused, dialing_gateway.log.read_text(encoding="utf-8"))
                )
            )
    assert listener.connections == 0 and other.connections == 0, "the gateway dialed it"
    assert re.search(refused, dialing_gateway.log.read_text(encoding="utf-8"))
