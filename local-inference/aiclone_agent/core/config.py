"""The agent's configuration: the bundle's ``config/config.yaml`` plus environment overrides.

``AgentConfig`` mirrors the YAML file section by section; ``EnvSettings`` holds the few
``AICLONE_*`` variables (documented in ``.env.universal``); ``ConfigStore`` owns the file and
is the only writer of it: every write is validated first and lands atomically.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from aiclone_agent.core.admin_password import check_hash_format
from aiclone_wire.direct import DirectAddressError, parse_direct_address
from aiclone_wire.errors import Problem, ProblemError

REPO_ROOT = Path(__file__).resolve().parents[3]


# Who a request comes from: the owner's own chat, the public web chat (via the gateway),
# Telegram, or an OpenAI API client. The engine's scheduler admits by these weights.
Channel = Literal["owner", "web", "telegram", "api"]
DEFAULT_CHANNEL_WEIGHTS: dict[Channel, int] = {"owner": 8, "web": 4, "telegram": 2, "api": 1}


class ConfigError(ProblemError):
    """The configuration file is missing, unreadable or invalid; the message says what to fix."""

    def problem(self) -> Problem:
        return Problem(400, f"configuration refused: {self}", "invalid_config")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CloneSection(_Section):
    id: str = Field(default="my-clone", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(default="My Clone", min_length=1, max_length=120)
    system_prompt: str = Field(
        default="You are a helpful AI clone. Answer briefly and kindly.", max_length=20_000
    )

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()


# The model section's tunable values, named once: ModelSection and the admin's engine settings
# (api/engine.py) validate with the same constraints.
Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(gt=0.0, le=1.0)]
MaxTokens = Annotated[int, Field(ge=1, le=32_768)]
ContextSize = Annotated[int, Field(ge=256, le=131_072)]
Threads = Annotated[int, Field(ge=0, le=256)]


def _gpu_layers(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    try:
        return handler(value)
    except ValidationError as exc:  # one sentence instead of one per member of the union
        raise ValueError("must be auto or a whole number from -1 (all layers) to 1000") from exc


GpuLayers = Annotated[Literal["auto"] | Annotated[int, Field(ge=-1, le=1000)], WrapValidator(_gpu_layers)]
Parallel = Annotated[int, Field(ge=1, le=64)]


class ModelSection(_Section):
    backend: Literal["auto", "tensorrt", "llama_cpp"] = "auto"
    base_model_path: str = Field(default="", description="the GGUF llama.cpp runs; empty: models/base/")
    hf_model_path: str = Field(
        default="", description="HF model folder of the same base model, for TensorRT-LLM (Linux/WSL2, NVIDIA)"
    )
    lora_path: str = Field(
        default="", description="PEFT adapter folder or GGUF LoRA file; empty: whatever models/lora/ holds"
    )
    lora_scale: float = Field(default=1.0, ge=0.0, le=4.0, description="adapter strength; 0 turns it off")
    lora_timeout_s: float = Field(
        default=300, gt=0, le=3600,
        description="longest the adapter's reading and conversion may take; past it the base model serves alone",
    )
    n_ctx: ContextSize = 4096
    n_gpu_layers: GpuLayers = Field(
        default="auto", description="auto: as many layers as fit in free VRAM; -1: all; 0: CPU only"
    )
    n_threads: Threads = Field(default=0, description="0: one per CPU core")
    max_tokens: MaxTokens = 512
    temperature: Temperature = 0.7
    top_p: TopP = 0.95
    parallel: Parallel = Field(default=4, description="sequences decoded together (continuous batching)")
    n_batch: int = Field(default=512, ge=32, le=8_192, description="tokens per decode step (decode + prefill chunks)")
    max_queue: int = Field(default=64, ge=1, le=10_000, description="requests waiting beyond this get 503 + Retry-After")
    cache_ram_mib: int = Field(
        default=2048, ge=0, le=1_048_576,
        description="finished conversations kept in RAM for their next turn, at most this much; 0: none kept",
    )
    step_target_ms: float = Field(
        default=150, gt=0, le=10_000,
        description="while answers stream, a step reads only as much of a new prompt as keeps it near this long",
    )
    step_prompt_share: float = Field(
        default=0.9, ge=0, le=0.99,
        description="but a step reading a prompt beside streaming answers gives it at least this share of its time",
    )
    prompt_lane: bool = Field(
        default=True,
        description="on a CPU, a long prompt beside streaming answers is read in whole batches in a second"
        " context (its KV cells cost RAM), paused for each step of the answers",
    )
    channel_weights: dict[Channel, int] = Field(
        default_factory=lambda: dict(DEFAULT_CHANNEL_WEIGHTS),
        description="admission priority per channel; a bigger weight gets more turns, none starves",
    )

    @field_validator("channel_weights")
    @classmethod
    def _weights(cls, value: dict[Channel, int]) -> dict[Channel, int]:
        bad = [name for name, weight in value.items() if weight < 1]
        if bad:
            raise ValueError(f"weights must be >= 1 ({', '.join(bad)})")
        return {**DEFAULT_CHANNEL_WEIGHTS, **value}


class ChannelProfile(_Section):
    """How the clone answers on one channel: added to the persona's prompt, a cap on answer
    length, the adapter's strength, and which documents the knowledge base may cite there."""

    system_prompt_extra: str = Field(default="", max_length=4_000)
    max_tokens: int | None = Field(default=None, ge=1, le=32_768, description="empty: model.max_tokens")
    adapter_scale: float | None = Field(
        default=None, ge=0.0, le=4.0, description="the adapter's strength here; empty: model.lora_scale"
    )
    knowledge: Literal["all", "none", "selected"] = "all"
    documents: list[str] = Field(default_factory=list, max_length=1_000, description="ids, with 'selected'")
    # long-term memory here: off writes nothing and recalls nothing (the api profile defaults to off)
    memory: Literal["on", "off"] = "on"


class ChannelsSection(_Section):
    """A persona per channel: the owner's own chats, the public web chat, Telegram, API keys."""

    owner: ChannelProfile = Field(default_factory=ChannelProfile)
    web: ChannelProfile = Field(default_factory=ChannelProfile)
    telegram: ChannelProfile = Field(default_factory=ChannelProfile)
    api: ChannelProfile = Field(default_factory=lambda: ChannelProfile(memory="off"))

    @model_validator(mode="before")
    @classmethod
    def _api_memory_off(cls, data: Any) -> Any:
        """The API is stateless by convention: an api profile that does not say ``memory`` has it off."""
        if isinstance(data, dict) and isinstance(data.get("api"), dict) and "memory" not in data["api"]:
            data = {**data, "api": {**data["api"], "memory": "off"}}
        return data


class RagSection(_Section):
    enabled: bool = True
    db_path: str = Field(default="rag", description="relative to the data dir")
    top_k: int = Field(default=5, ge=1, le=50)
    embedding_model: Literal["multilingual-e5-small", "multilingual-e5-small-enpt"] = Field(
        default="multilingual-e5-small", description="changing it re-embeds every document"
    )
    max_upload_mb: int = Field(default=50, ge=1, le=2_000)
    max_unpacked_mb: int = Field(default=200, ge=1, le=10_000, description="docx: total uncompressed size")
    max_archive_entries: int = Field(default=2_000, ge=10, le=100_000, description="docx: zip entries")
    chunk_tokens: int = Field(default=256, ge=16, le=2_048)
    chunk_overlap_tokens: int = Field(default=32, ge=0, le=512)
    max_attempts: int = Field(default=3, ge=1, le=20, description="ingestions interrupted this often end failed")


class AdminPanelSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65_535)
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Host names besides loopback to answer (LAN use)"
    )
    password_hash: str = Field(
        default="",
        description=(
            "scrypt hash of the admin password (`python -m aiclone_agent admin-password`); empty: the "
            "admin answers this PC only; set: it answers the network too, every request with the password"
        ),
    )

    @field_validator("password_hash")
    @classmethod
    def _password_hash(cls, value: str) -> str:
        return check_hash_format(value)


class TelegramBot(_Section):
    bot_id: str = ""
    token: str = ""
    linked_clone_id: str = ""


class TelegramSection(_Section):
    enabled: bool = False
    bots: list[TelegramBot] = Field(default_factory=list)
    api_url: str = Field(
        default="https://api.telegram.org",
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="Bot API server (a self-hosted telegram-bot-api server works too)",
    )
    allowed_user_ids: list[int] = Field(
        default_factory=list, description="Telegram user ids allowed to talk to the bot; empty: everyone"
    )


class MessengersSection(_Section):
    telegram: TelegramSection = Field(default_factory=TelegramSection)


class DirectSection(_Section):
    """The direct path: a TLS listener the gateway dials (port-forwarded or VPN), serving only the
    link's request API (never the admin), with the agent's own self-signed certificate (its
    fingerprint travels to the gateway over the relay link, which pins it)."""

    enabled: bool = False
    host: str = Field(default="0.0.0.0", min_length=1, max_length=255)
    port: int = Field(default=3100, ge=1, le=65_535)
    advertise_url: str = Field(
        default="", max_length=2_000, description="what the gateway dials, e.g. wss://203.0.113.7:3100"
    )

    @field_validator("advertise_url")
    @classmethod
    def _advertise_url(cls, value: str) -> str:
        """``wss://host:port`` only (the gateway's own rule: ``aiclone_wire.direct``)."""
        value = value.strip()
        if value:
            try:
                value = str(parse_direct_address(value))
            except DirectAddressError as exc:
                raise ValueError(str(exc)) from None
        return value


class GatewaySection(_Section):
    url: str = Field(default="", max_length=2_000, description="ws(s):// or http(s):// address of the gateway")
    agent_token: str = Field(default="", max_length=512)
    # the longest wait between two tries to relink: the wait doubles from 0.5 s up to this (with
    # jitter, so many agents never retry in step); lower it for a gateway that restarts often
    reconnect_max_s: float = Field(default=30.0, ge=1.0, le=600.0)
    direct: DirectSection = Field(default_factory=DirectSection)

    @field_validator("url")
    @classmethod
    def _gateway_url(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("ws://", "wss://", "http://", "https://")):
            raise ValueError("must start with ws://, wss://, http:// or https://")
        return value


class LanSection(_Section):
    """The LAN listener: the OpenAI API and a chat page for the family at home, answered with the
    VDS or the internet down; each user shows a token their gateway issued, checked offline.
    Never the admin."""

    enabled: bool = False
    host: str = Field(default="0.0.0.0", min_length=1, max_length=255)
    port: int = Field(default=3080, ge=1, le=65_535)
    # the address people at home open, told to the gateway for its "Use at home" page; empty: this
    # PC's own LAN address and ``port`` (``lan.address``)
    advertise_url: str = Field(default="", max_length=2_000, pattern=r"^(https?://\S+)?$")


class LimitsSection(_Section):
    max_message_chars: int = Field(default=32_000, ge=1, le=1_000_000)
    max_request_bytes: int = Field(default=2_000_000, ge=1_024, le=100_000_000)


class AgentConfig(_Section):
    clone: CloneSection = Field(default_factory=CloneSection)
    model: ModelSection = Field(default_factory=ModelSection)
    channels: ChannelsSection = Field(default_factory=ChannelsSection)
    rag: RagSection = Field(default_factory=RagSection)
    admin_panel: AdminPanelSection = Field(default_factory=AdminPanelSection)
    messengers: MessengersSection = Field(default_factory=MessengersSection)
    gateway: GatewaySection = Field(default_factory=GatewaySection)
    lan: LanSection = Field(default_factory=LanSection)
    limits: LimitsSection = Field(default_factory=LimitsSection)


class EnvSettings(BaseSettings):
    """Environment overrides (``AICLONE_*``), read once at startup."""

    model_config = SettingsConfigDict(env_prefix="AICLONE_", extra="ignore")

    config: Path = REPO_ROOT / "config" / "config.yaml"
    data_dir: Path = REPO_ROOT / "data"
    models_dir: Path = REPO_ROOT / "models"
    port: int | None = Field(default=None, ge=1, le=65_535)
    host: str | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Seconds between two samples of the admin's overview page (it keeps the last hour).
    overview_interval_s: float = Field(default=10, gt=0, le=600)


def format_validation_error(error: ValidationError) -> str:
    """One readable line per problem: ``model.n_ctx: Input should be ...``."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "config"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_config(text: str, source: str) -> AgentConfig:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{source} must hold a mapping of sections (clone, model, ...)")
    try:
        return AgentConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from exc


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class ConfigStore:
    """Owns ``config.yaml``: loads it, hands out the current config, applies validated updates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._config = self._load()

    def _load(self) -> AgentConfig:
        # Temp files left by a write that was killed before its rename: never the live config.
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        if not self.path.exists():
            return AgentConfig()
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {self.path}: {exc.strerror}") from exc
        return parse_config(text, str(self.path))

    @property
    def current(self) -> AgentConfig:
        return self._config

    def update(self, change: Callable[[dict[str, Any]], None]) -> AgentConfig:
        """Apply ``change`` to a copy of the config as plain data, validate, write, swap in.

        A change that does not validate raises ``ConfigError`` and leaves file and memory as
        they were.
        """
        with self._lock:
            data = self._config.model_dump(mode="json")
            change(data)
            try:
                new_config = AgentConfig.model_validate(data)
            except ValidationError as exc:
                raise ConfigError(format_validation_error(exc)) from exc
            text = yaml.safe_dump(
                new_config.model_dump(mode="json"), sort_keys=False, allow_unicode=True
            )
            atomic_write_text(self.path, text)
            self._config = new_config
            return new_config
