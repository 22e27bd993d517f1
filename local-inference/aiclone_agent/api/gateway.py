"""``/api/gateway``: where the agent links to (url + agent token), persisted to config.yaml.

A change restarts the link at once. The token is never echoed back whole.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aiclone_agent.api.deps import ConfigDep, GatewayDep, RedactorDep
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.gateway.link import GatewayLink

router = APIRouter(prefix="/api/gateway", tags=["gateway"])


class GatewayOut(BaseModel):
    url: str
    agent_token: str
    connected: bool
    rtt_ms: float | None
    last_error: str | None


class GatewayUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2_000)
    agent_token: str | None = Field(
        default=None, max_length=512, description="omit to keep the current token"
    )


def mask(token: str) -> str:
    return f"{token[:4]}…{token[-4:]}" if len(token) > 12 else ("…" if token else "")


def _out(config: ConfigStore, gateway: GatewayLink) -> GatewayOut:
    section = config.current.gateway
    status = gateway.status
    return GatewayOut(
        url=section.url,
        agent_token=mask(section.agent_token),
        connected=status.connected,
        rtt_ms=status.rtt_ms,
        last_error=status.last_error,
    )


@router.get("")
async def get_gateway(config: ConfigDep, gateway: GatewayDep) -> GatewayOut:
    return _out(config, gateway)


@router.put("")
async def update_gateway(
    body: GatewayUpdate, config: ConfigDep, gateway: GatewayDep, redactor: RedactorDep
) -> GatewayOut:
    changes = body.model_dump(exclude_none=True)

    def apply(data: dict) -> None:
        data["gateway"].update(changes)

    config.update(apply)
    if body.agent_token:
        redactor.add(body.agent_token)  # keep the new token out of the logs too
    await gateway.restart()
    return _out(config, gateway)
