"""Frames exchanged over the agent's link to the gateway: one JSON object per WebSocket text message.

The agent dials the gateway's ``/agent/ws`` (agent token in the ``Authorization`` header); both
sides open with ``hello``. The gateway then sends ``request`` frames (an OpenAI Chat Completions
body); the agent answers each with ``chunk`` frames and exactly one ``end`` or ``error``, all
carrying the request's ``id``, so one link multiplexes many requests. ``telegram_request`` (gateway ->
agent) carries one Telegram message the gateway received by webhook; only the gateway's webhook
code creates it, and each ``chunk`` of its answer is one reply message. ``cancel`` stops a request;
``credit`` grants the agent more chunks for a request (flow control: it never has more than its
window of unacknowledged chunks in flight); ``ping``/``pong`` (either way) measure the round trip
and keep the link alive.
The same frames travel on the direct path, where the gateway dials the agent's direct listener
(``wss://host:port/agent/direct``, the certificate pinned to the ``direct_fingerprint`` of the
agent's hello: see ``aiclone_wire.direct``). There the agent speaks first: ``direct_challenge``
carries a nonce it made for this socket alone, and the gateway's hello answers it with
``direct_proof``, a short-lived gateway-signed JWT (``aud`` = the agent's id, ``typ``
``DIRECT_TOKEN_TYPE``, ``nonce`` = that nonce), so a captured handshake opens no other socket.
The direct path carries requests and their answers only: the frames that change the agent's
security state (``lan_revocations``) and the Telegram hand-over travel on the relay link alone.
``telegram_bots`` (agent -> gateway) hands the agent's bots over for webhook delivery and
``telegram_status`` (gateway -> agent) says which ones the gateway now serves.
``lan_revocations`` (gateway -> agent, after hello and whenever it changes) lists every LAN token
revoked before its expiry: the agent's LAN listener, which checks those tokens offline, refuses them.
``gateway_stats`` (gateway -> agent, relay link only) carries the gateway's live numbers for the
owner's overview page: right after hello, then every ``interval_s``.
``agent_load`` (agent -> gateway, relay link only) says how busy the agent is and what it serves,
right after hello and whenever that changes (at most a few times a second): a gateway with several
agents of one clone sends each new conversation to the one with the most free capacity.
``memory_request`` / ``memory_result`` (see ``aiclone_wire.memory``) let a signed-in user list and
erase their own long-term memories on the agent; ``request`` carries the ``person`` the gateway
authenticated and ``end`` the ``memories`` its answer was given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from aiclone_wire.frame import _Frame
from aiclone_wire.memory import MemoryRecord, MemoryRequest, MemoryResult, PersonKey

PROTOCOL_VERSION = 2
# Chunks a request may have in flight before the agent waits for a ``credit`` frame.
DEFAULT_CREDIT = 256
# The largest frame either side accepts (the WebSocket message limit). Senders keep their frames
# well below it (the gateway caps relayed requests at ``MAX_REQUEST_FRAME_BYTES``), so one request
# can never close the link that every other request shares.
MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_REQUEST_FRAME_BYTES = 4 * 1024 * 1024
# Telegram's own limit on a message's text.
TELEGRAM_TEXT_LIMIT = 4096
# The ``typ`` of the JWT the gateway presents to the agent's direct listener, and its path there.
DIRECT_TOKEN_TYPE = "agent-direct"
DIRECT_PATH = "/agent/direct"
# The ``typ`` and ``aud`` of the long-lived JWT a user gets from the gateway for the agent's LAN
# listener (checked there offline, with the JWKS of the gateway's hello).
LAN_TOKEN_TYPE = "lan"
LAN_TOKEN_AUDIENCE = "aiclone-lan"


class WireError(ValueError):
    """A frame that is not valid JSON or does not match the schema."""


class Hello(_Frame):
    type: Literal["hello"] = "hello"
    protocol_version: int = PROTOCOL_VERSION
    role: Literal["agent", "gateway"]
    software_version: str = ""
    capabilities: list[str] = Field(default_factory=list)
    # agent -> gateway: who answers
    clone_id: str = ""
    clone_name: str = ""
    models: list[str] = Field(default_factory=list)
    direct_url: str | None = None
    # agent -> gateway (relay link only): SHA-256 of the direct listener's certificate (DER), hex;
    # the gateway dials ``direct_url`` only when the listener shows exactly this certificate
    direct_fingerprint: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # agent -> gateway: where people at home open the LAN chat page (``http://192.168.1.20:3080``);
    # the gateway shows it to signed-in users on its "Use at home" page, never to the public
    lan_url: str | None = Field(default=None, max_length=2_000)
    # gateway -> agent: the public keys of the gateway's access tokens (JWKS), for offline checks
    jwks: dict[str, Any] | None = None
    # gateway -> agent: the ``iss`` of the gateway's tokens (checked with the JWKS, offline too)
    jwt_issuer: str | None = None
    # gateway -> agent: the id the gateway knows this agent by (its agent token's); the ``aud``
    # of the tokens the gateway presents on the direct path
    agent_id: str | None = None
    # gateway -> agent (direct path only): the answer to the agent's ``direct_challenge``
    direct_proof: str | None = Field(default=None, max_length=4_096, repr=False)


class DirectChallenge(_Frame):
    """agent -> gateway, the first frame on a direct socket: sign this nonce into your hello's
    ``direct_proof``. Fresh for each socket, accepted once."""

    type: Literal["direct_challenge"] = "direct_challenge"
    nonce: str = Field(min_length=16, max_length=128)


class Request(_Frame):
    type: Literal["request"] = "request"
    id: str = Field(min_length=1, max_length=64)
    body: dict[str, Any]
    credit: int = Field(default=DEFAULT_CREDIT, ge=1)
    # who asks, for the agent's scheduler: the public web chat or an OpenAI API client
    channel: Literal["web", "api"] = "api"
    # who asks, stamped by the gateway from the authenticated user (never from the body): the
    # agent keeps and recalls memories for this person only; None: no memory for this request
    person: PersonKey | None = None


class TelegramMessage(_Frame):
    """One Telegram text message as the gateway's webhook received it from Telegram."""

    bot_id: int
    chat_id: int
    user_id: int | None = None
    text: str = Field(default="", max_length=TELEGRAM_TEXT_LIMIT)


class TelegramRequest(_Frame):
    type: Literal["telegram_request"] = "telegram_request"
    id: str = Field(min_length=1, max_length=64)
    message: TelegramMessage
    credit: int = Field(default=DEFAULT_CREDIT, ge=1)


class Chunk(_Frame):
    type: Literal["chunk"] = "chunk"
    id: str
    delta: str


class Usage(_Frame):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class End(_Frame):
    type: Literal["end"] = "end"
    id: str
    finish_reason: str
    usage: Usage = Field(default_factory=Usage)
    # The knowledge-base chunks the answer was given: document_id, document_name, chunk_index,
    # start, end (character offsets in the document's text) and text (the chunk itself).
    sources: list[dict[str, Any]] = Field(default_factory=list)
    # The person's memories recalled into the prompt for this answer.
    memories: list[MemoryRecord] = Field(default_factory=list)


class Error(_Frame):
    type: Literal["error"] = "error"
    id: str | None = None
    code: str
    message: str
    # the HTTP status a gateway client should see (400 bad request, 503 engine down, ...)
    status: int = 502
    # with status 503 when the agent's queue is full: when to retry (the gateway's Retry-After)
    retry_after_s: int | None = None


class Cancel(_Frame):
    type: Literal["cancel"] = "cancel"
    id: str


class Credit(_Frame):
    type: Literal["credit"] = "credit"
    id: str
    chunks: int = Field(ge=1)


class TelegramBot(_Frame):
    bot_id: str
    token: str = Field(repr=False)


class TelegramBots(_Frame):
    """agent -> gateway: deliver these bots' updates by webhook from now on (``enabled`` False or
    no bots: stop). Sent after hello and whenever the owner changes the bots."""

    type: Literal["telegram_bots"] = "telegram_bots"
    enabled: bool
    api_url: str
    bots: list[TelegramBot] = Field(default_factory=list)


class TelegramBotState(_Frame):
    bot_id: str
    ok: bool
    error: str | None = None


class TelegramStatus(_Frame):
    """gateway -> agent: which bots now deliver by webhook (the others stay with the agent)."""

    type: Literal["telegram_status"] = "telegram_status"
    bots: list[TelegramBotState] = Field(default_factory=list)


class RevokedToken(_Frame):
    jti: str = Field(min_length=1, max_length=64)
    # the token's own ``exp``: past it the token is refused anyway, so the entry can go
    expires_at: float


class LanRevocations(_Frame):
    """gateway -> agent: the LAN tokens revoked before their expiry (the whole list, not a delta)."""

    type: Literal["lan_revocations"] = "lan_revocations"
    revoked: list[RevokedToken] = Field(default_factory=list)


class GatewayStats(_Frame):
    """gateway -> agent: what the gateway sees now (the admin's overview page charts it)."""

    type: Literal["gateway_stats"] = "gateway_stats"
    # distinct users with the public chat open (a /ws/chat socket), and the sockets themselves
    users_online: int = Field(ge=0)
    chat_sockets: int = Field(default=0, ge=0)
    # requests relayed to the agent and not finished
    requests_in_flight: int = Field(ge=0)
    # questions waiting for the agent (store-and-forward)
    queued_questions: int = Field(ge=0)
    # relayed requests that ended in an error since the gateway started
    errors: int = Field(ge=0)
    # gateway processes serving this clone
    replicas: int = Field(default=1, ge=1)
    uptime_s: float = Field(default=0, ge=0)
    # when the next frame comes at the latest (the agent calls older numbers stale)
    interval_s: float = Field(gt=0)


class AgentFingerprint(_Frame):
    """What an agent serves, so the owner sees when two agents of one clone would answer
    differently: the base model's id, the adapter's name and scale, and short hashes of the
    persona (system prompt and channel profiles) and of the knowledge base's documents."""

    model: str = ""
    adapter: str = ""
    persona: str = ""
    documents: str = ""


class AgentLoad(_Frame):
    """agent -> gateway: the engine's load now and what the agent serves (``fingerprint``)."""

    type: Literal["agent_load"] = "agent_load"
    # sequences decoding now, requests waiting for a slot, and how many slots there are
    running: int = Field(ge=0)
    waiting: int = Field(ge=0)
    parallel: int = Field(ge=1)
    # decoded tokens per second over the last report interval
    tokens_per_s: float = Field(default=0, ge=0)
    fingerprint: AgentFingerprint = Field(default_factory=AgentFingerprint)


class Ping(_Frame):
    type: Literal["ping"] = "ping"
    sent_at: float


class Pong(_Frame):
    type: Literal["pong"] = "pong"
    sent_at: float


Frame = Annotated[
    Hello | Request | TelegramRequest | Chunk | End | Error | Cancel | Credit | Ping | Pong | TelegramBots | TelegramStatus
    | GatewayStats
    | AgentLoad
    | LanRevocations
    | DirectChallenge
    | MemoryRequest
    | MemoryResult,
    Field(discriminator="type"),
]
_FRAME: TypeAdapter[Frame] = TypeAdapter(Frame)


def encode(frame: _Frame) -> str:
    return frame.model_dump_json()


def decode(data: str | bytes) -> Frame:
    try:
        return _FRAME.validate_json(data)
    except ValidationError as exc:
        raise WireError(f"bad frame: {exc.errors(include_url=False, include_input=False)[:1]}") from exc
