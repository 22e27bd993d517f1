"""``/api/listeners/{lan,direct}``: the LAN listener's and the direct path's settings, and Apply.

``PUT`` saves (validated, to config.yaml) without touching the running listener: ``pending`` says
the saved settings are not what it runs with. ``POST …/apply`` restarts that listener in-process
with them and answers how it went (``state``, ``error``: why it cannot listen); the same fields are
in ``/api/status`` (``lan``, ``gateway.direct``) while and after it runs. A person reads
``error_code`` with ``error_params`` in the page's language; ``error`` keeps the OS's words for the log.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from aiclone_agent.api.deps import ConfigDep, DirectDep, GatewayDep, LanDep
from aiclone_agent.core.config import DirectSection, LanSection
from aiclone_agent.core.listener_state import ListenerState
from aiclone_agent.gateway.direct import DirectListener
from aiclone_agent.lan.listener import LanListener

router = APIRouter(prefix="/api/listeners", tags=["listeners"])


class LanListenerOut(BaseModel):
    settings: LanSection  # saved
    state: ListenerState
    address: str | None  # where it listens now
    error: str | None  # why the last start could not listen (the OS's words: for the log)
    pending: bool  # saved settings not applied yet
    # the same, as a code the admin page says in its language, with its params (host, port)
    error_code: str | None = None
    error_params: dict[str, str | int] | None = None


class DirectListenerOut(BaseModel):
    settings: DirectSection
    state: ListenerState
    address: str | None
    error: str | None
    pending: bool
    error_code: str | None = None
    error_params: dict[str, str | int] | None = None


def _lan(lan: LanListener) -> LanListenerOut:
    return LanListenerOut(
        settings=lan.config.current.lan,
        state=lan.state,
        address=lan.address,
        error=lan.last_error,
        pending=lan.pending,
        error_code=lan.last_error_code,
        error_params=lan.last_error_params,
    )


def _direct(direct: DirectListener) -> DirectListenerOut:
    failed = direct.state == "failed"
    return DirectListenerOut(
        settings=direct.config.current.gateway.direct,
        state=direct.state,
        address=direct.address,
        error=direct.last_error if failed else None,
        pending=direct.pending,
        error_code=direct.last_error_code if failed else None,
        error_params=direct.last_error_params if failed else None,
    )


@router.get("/lan")
async def get_lan(lan: LanDep) -> LanListenerOut:
    return _lan(lan)


@router.put("/lan")
async def put_lan(body: LanSection, config: ConfigDep, lan: LanDep) -> LanListenerOut:
    config.update(lambda data: data.update(lan=body.model_dump(mode="json")))
    return _lan(lan)


@router.post("/lan/apply")
async def apply_lan(lan: LanDep) -> LanListenerOut:
    """Restart the LAN listener with the saved settings (its users' open requests are cut)."""
    await lan.restart()
    return _lan(lan)


def _announced(section: DirectSection | None) -> tuple[bool, str]:
    return (section.enabled, section.advertise_url) if section else (False, "")


@router.get("/direct")
async def get_direct(direct: DirectDep) -> DirectListenerOut:
    return _direct(direct)


@router.put("/direct")
async def put_direct(body: DirectSection, config: ConfigDep, direct: DirectDep) -> DirectListenerOut:
    config.update(lambda data: data["gateway"].update(direct=body.model_dump(mode="json")))
    return _direct(direct)


@router.post("/direct/apply")
async def apply_direct(direct: DirectDep, gateway: GatewayDep) -> DirectListenerOut:
    """Restart the direct listener with the saved settings. When what the relay link announces
    changes (on/off, the advertised address), the link is redialled so the gateway learns it."""
    before = _announced(direct.applied)
    await direct.restart()
    if _announced(direct.applied) != before:
        await gateway.restart()
    return _direct(direct)
