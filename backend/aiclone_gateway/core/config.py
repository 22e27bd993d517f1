"""The gateway's settings: ``AICLONE_GATEWAY_*`` environment variables (or ``.env``), read once.

Documented in ``.env.universal``. Outside development the gateway refuses to start with the
default secret key.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_SECRET_KEY = "change-me-dev-only-secret-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AICLONE_GATEWAY_", env_file=REPO_ROOT / ".env", extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=1, le=65_535)
    # Where Telegram (webhooks) and browsers reach this gateway, e.g. https://clone.example.com
    # (default: http://127.0.0.1:<port>). Its origin is always allowed to open /ws/chat.
    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^\s]+$")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    data_dir: Path = REPO_ROOT / "data" / "gateway"
    # sqlite+aiosqlite:///path/file.sqlite3 (default: gateway.sqlite3 in data_dir) or
    # postgresql+asyncpg://user:password@host/db
    database_url: str = ""
    # Several replicas: redis://host:port/db shared by all of them (tickets, rate limits, which
    # replica holds the agent's link, requests relayed between replicas). Needs PostgreSQL as
    # the database. Empty: one process on its own, as on a small VDS.
    redis_url: str = ""
    # Keys under this prefix: one deployment per prefix on a shared Redis.
    redis_prefix: str = Field(default="aiclone", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # This replica's name, stable across its restarts (its restart requeues the answers it was
    # streaming). Default: <hostname>-<port>.
    replica_id: str = Field(default="", pattern=r"^[A-Za-z0-9_.:-]{0,128}$")
    # The agent's owner record lives this long without renewal (renewed every third of it).
    cluster_owner_ttl_s: float = Field(default=6, ge=1, le=120)
    # Peppers the hashes of refresh tokens, API keys and agent tokens. At least 32 characters.
    secret_key: str = DEFAULT_SECRET_KEY
    # Ed25519 signing key (PEM) of access tokens; created on first start when missing.
    jwt_key_file: Path | None = None
    jwt_issuer: str = "aiclone-gateway"
    jwt_audience: str = "aiclone"
    access_token_ttl_s: int = Field(default=900, ge=30)
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=60)
    # Lifetime of a LAN token (what a user shows the agent's LAN listener at home, checked there
    # offline), and how many live ones a user may hold.
    lan_token_ttl_s: int = Field(default=30 * 86_400, ge=60, le=366 * 86_400)
    max_lan_tokens_per_user: int = Field(default=10, ge=1, le=1_000)
    # Clock skew forgiven when checking a token's exp and nbf (replicas, the agent's clock).
    jwt_leeway_s: int = Field(default=30, ge=0, le=300)
    # Two tabs refreshing with the same token at the same moment: a token spent less than this
    # long ago buys the same successor again instead of counting as reuse (RFC 9700 4.14.2).
    refresh_reuse_grace_s: float = Field(default=10, ge=0, le=60)
    # More browser origins allowed to open /ws/chat besides public_url's own; a socket without an
    # Origin header is refused. Default: none (public_url's origin, e.g. http://127.0.0.1:<port>).
    allowed_origins: list[str] = Field(default_factory=list)
    auth_rate_limit: int = Field(
        default=20, ge=1, description="requests per client per window on /api/auth/*"
    )
    auth_rate_window_s: float = Field(default=60, gt=0)
    # Addresses (or CIDR networks) of the reverse proxy whose X-Forwarded-For names the client.
    # Only a connection from one of these may say who the client is; anyone else is keyed (rate
    # limits, logs) by the address it connects from. Default: nginx on this host. [] trusts none.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    ticket_ttl_s: float = Field(default=30, gt=0)
    heartbeat_interval_s: float = Field(default=5, gt=0)
    heartbeat_timeout_s: float = Field(default=10, gt=0)
    # Path probes: every heartbeat_interval_s while a path is idle, every path_probe_active_s while
    # it carries requests; a path is trusted until about two probes are missed.
    path_probe_active_s: float = Field(default=2, gt=0)
    # How often the gateway tells its agent its live numbers (users online, queue, ...: the
    # agent's overview page).
    stats_interval_s: float = Field(default=10, gt=0)
    # Lifetime of the proof the gateway presents on an agent's direct listener (signed over that
    # listener's one-time challenge, so it only needs to outlive the handshake).
    direct_token_ttl_s: int = Field(default=30, ge=5, le=300)
    # Networks an agent's direct address may resolve into although the gateway refuses them by
    # default (loopback, link-local, cloud metadata, private, its own addresses), e.g.
    # ["100.64.0.0/10"] for a Tailscale address. Default: none: only public addresses are dialed.
    direct_allowed_networks: list[str] = Field(default_factory=list)
    # The longest wait between two tries to dial an agent's direct listener.
    direct_redial_max_s: float = Field(default=10, gt=0)
    # A relayed request that hears nothing from the agent for this long fails with an error.
    relay_idle_timeout_s: float = Field(default=120, gt=0)
    offline_retry_after_s: int = Field(default=30, ge=1)
    # Request bodies: refused with 413 before they are read (Content-Length or counted as they
    # stream in). Auth routes take small JSON only; everything else up to max_body_bytes.
    max_body_bytes: int = Field(default=2_000_000, ge=1_024, le=64 * 1024 * 1024)
    max_auth_body_bytes: int = Field(default=16_384, ge=1_024, le=1_000_000)
    # One relayed request on the agent link (history included). Far below the link's 16 MiB
    # frame limit, so one request can never drop the link for everyone.
    max_relay_frame_bytes: int = Field(default=4 * 1024 * 1024, ge=16_384, le=8 * 1024 * 1024)

    # Per-user chat limits (web chat, WebSocket and SSE): the owner's PC answers everyone in turn.
    chat_messages_per_minute: int = Field(default=20, ge=1, le=10_000)
    chat_max_concurrent_per_user: int = Field(default=2, ge=1, le=100)
    chat_max_queued_per_user: int = Field(default=20, ge=1, le=10_000)
    chat_max_conversations_per_user: int = Field(default=500, ge=1, le=100_000)
    chat_max_messages_per_conversation: int = Field(default=400, ge=4, le=100_000)
    chat_max_queued_attempts: int = Field(default=3, ge=1, le=100)
    # Bearer token a Prometheus scraper presents at /metrics (the owner's access token works too).
    metrics_token: str = ""
    # Live API keys one user may hold (revoked ones are dropped when a new one is made).
    max_api_keys_per_user: int = Field(default=25, ge=1, le=1_000)
    # The Telegram Bot API this gateway calls for webhook delivery. Only this setting decides it:
    # the address an agent sends is not used (an agent token must not aim the gateway anywhere).
    telegram_api_url: str = Field(default="https://api.telegram.org", pattern=r"^https?://[^\s]+$")
    # Seen update ids are kept this long for de-duplication (Telegram retries for up to a day).
    telegram_seen_updates_ttl_s: float = Field(default=3 * 86_400, ge=3_600)

    @field_validator("trusted_proxies", "direct_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str], info: ValidationInfo) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"AICLONE_GATEWAY_{(info.field_name or '').upper()}: {entry!r} is not an IP address or network"
                ) from None
        return value

    @model_validator(mode="after")
    def _resolve(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'gateway.sqlite3'}"
        if not self.replica_id:
            self.replica_id = f"{socket.gethostname()}-{self.port}"
        if self.redis_url and self.is_sqlite:
            raise ValueError(
                "AICLONE_GATEWAY_REDIS_URL (several replicas) needs PostgreSQL: set "
                "AICLONE_GATEWAY_DATABASE_URL=postgresql+asyncpg://user:password@host/db "
                "(a SQLite file cannot be shared by replicas)"
            )
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("AICLONE_GATEWAY_REDIS_URL must start with redis://, rediss:// or unix://")
        if "public_url" not in self.model_fields_set:
            self.public_url = f"http://127.0.0.1:{self.port}"
        if "allowed_origins" not in self.model_fields_set:
            self.allowed_origins = [f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"]
        if self.jwt_key_file is None:
            self.jwt_key_file = self.data_dir / "jwt_ed25519.pem"
        if self.environment != "development" and (
            self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError(
                "AICLONE_GATEWAY_SECRET_KEY must be set to a random value of at least 32 characters "
                "outside development (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def key_file(self) -> Path:
        """The signing key's path (``jwt_key_file``, defaulted in the data dir at validation)."""
        return self.jwt_key_file or self.data_dir / "jwt_ed25519.pem"

    @property
    def chat_origins(self) -> frozenset[str]:
        """Browser origins /ws/chat accepts: the gateway's own public origin plus allowed_origins."""
        own = urlsplit(self.public_url)
        return frozenset(
            {f"{own.scheme}://{own.netloc}".lower(), *(o.rstrip("/") for o in self.allowed_origins)}
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
