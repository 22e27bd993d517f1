"""``/api/gateway``: where the agent links to (url + agent token), persisted to config.yaml.

A change restarts the link at once. The token is never echoed back whole.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aiclone_agent.api.deps import ConfigDep, RuntimeDep
from aiclone_agent.runtime import AgentRuntime

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


def _out(runtime: AgentRuntime) -> GatewayOut:
    section = runtime.config.current.gateway
    status = runtime.gateway.status
    return GatewayOut(
        url=section.url,
        agent_token=mask(section.agent_token),
        connected=status.connected,
        rtt_ms=status.rtt_ms,
        last_error=status.last_error,
    )


@router.get("")
async def get_gateway(runtime: RuntimeDep) -> GatewayOut:
    return _out(runtime)


@router.put("")
async def update_gateway(body: GatewayUpdate, config: ConfigDep, runtime: RuntimeDep) -> GatewayOut:
    changes = body.model_dump(exclude_none=True)

    def apply(data: dict) -> None:
        data["gateway"].update(changes)

    config.update(apply)
    if body.agent_token:
        runtime.redactor.add(body.agent_token)  # keep the new token out of the logs too
    await runtime.gateway.restart()
    return _out(runtime)
