"""``GET /api/overview``'s shapes, rendered into ``frontend/src/api/agentOverview.ts``
(``python scripts/typescript.py``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from aiclone_wire.paths import NetworkMode


class _Shape(BaseModel):
    # every field is always sent, so the TypeScript declares none optional
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class PathSample(_Shape):
    up: bool
    rtt_ms: float | None = None


class GatewayNumbers(_Shape):
    """What the gateway last told the agent about itself (``GatewayStats`` on the link)."""

    users_online: int
    chat_sockets: int
    requests_in_flight: int
    queued_questions: int
    errors: int
    replicas: int
    # seconds since the gateway sent them
    age_s: float


class OverviewSample(_Shape):
    # when it was taken (Unix seconds)
    at: float
    # tokens decoded per second over the interval before it
    tokens_per_s: float
    # median time to first token of the requests that got one in the interval (None: none did)
    ttft_ms: float | None = None
    # requests waiting for a sequence slot, and those decoding (None: the engine has no counters)
    queue: int | None = None
    running: int | None = None
    # share of the KV cache in use, 0..1
    kv_used: float | None = None
    mode: NetworkMode
    paths: dict[str, PathSample] = Field(default_factory=dict)
    # links to the gateway made again since the agent started
    reconnects: int = 0
    # the gateway's numbers while they are fresh (None: not linked, or not heard from lately)
    gateway: GatewayNumbers | None = None


class OverviewResponse(_Shape):
    interval_s: float
    # the span the samples cover at most
    window_s: float
    gateway_url: str
    gateway_connected: bool
    samples: list[OverviewSample]
    # measured now (rates over the time since the last sample)
    current: OverviewSample
