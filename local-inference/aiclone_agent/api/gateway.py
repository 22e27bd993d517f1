"""``/api/gateway``: where the agent links to (url + agent token), persisted to config.yaml.

A change restarts the link at once. The token is never echoed back whole.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from aiclone_agent.api.deps import ConfigDep, GatewayDep, RedactorDep
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.gateway.link import GatewayLink
from aiclone_wire.pairing import parse_pairing

router = APIRouter(prefix="/api/gateway", tags=["gateway"])


class GatewayOut(BaseModel):
    url: str
    agent_token: str
    connected: bool
    rtt_ms: float | None
    last_error: str | None
    # the same, as a code the admin page says in its language (aiclone_wire.error_codes)
    last_error_code: str | None = None


class GatewayUpdate(BaseModel):
    """Either ``url`` (and a new ``agent_token``, or none to keep the current one), or ``pairing``:
    the one line the gateway showed with a new agent token (``aiclone_wire.pairing``)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, max_length=2_000)
    agent_token: str | None = Field(
        default=None, max_length=512, description="omit to keep the current token"
    )
    pairing: str | None = Field(default=None, max_length=3_000, repr=False)

    @field_validator("pairing")
    @classmethod
    def _whole_pairing(cls, value: str | None) -> str | None:
        """A broken pairing string is that field's problem (``not_a_pairing_string``), so the page
        can say so beside the field in its own language."""
        if value is not None:
            try:
                parse_pairing(value)
            except ValueError as exc:
                raise PydanticCustomError("not_a_pairing_string", str(exc)) from None
        return value

    @model_validator(mode="after")
    def _one_way(self) -> GatewayUpdate:
        if self.pairing is None:
            if self.url is None:
                raise ValueError("send url (and agent_token), or pairing")
            return self
        if self.url is not None or self.agent_token is not None:
            raise ValueError("send pairing alone: it holds the address and the token")
        pairing = parse_pairing(self.pairing)
        if len(pairing.gateway_url) > 2_000 or len(pairing.agent_token) > 512:
            raise ValueError("the pairing string's address or token is too long")
        self.url, self.agent_token, self.pairing = pairing.gateway_url, pairing.agent_token, None
        return self


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
        last_error_code=status.last_error_code,
    )


@router.get("")
async def get_gateway(config: ConfigDep, gateway: GatewayDep) -> GatewayOut:
    return _out(config, gateway)


@router.put("")
async def update_gateway(
    body: GatewayUpdate, config: ConfigDep, gateway: GatewayDep, redactor: RedactorDep
) -> GatewayOut:
    changes = body.model_dump(exclude_none=True, exclude={"pairing"})

    def apply(data: dict) -> None:
        data["gateway"].update(changes)

    config.update(apply)
    if body.agent_token:
        redactor.add(body.agent_token)  # keep the new token out of the logs too
    await gateway.restart()
    return _out(config, gateway)
