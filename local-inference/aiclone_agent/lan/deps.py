"""The LAN listener's caller: the user of the LAN token in the Authorization header, checked offline."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aiclone_agent.lan.tokens import LanUser
from aiclone_wire.memory import user_person


def _lan_user(request: Request) -> LanUser:
    return request.app.state.runtime.lan_tokens.user(request.headers.get("authorization"))


LanUserDep = Annotated[LanUser, Depends(_lan_user)]
RequireLanUser = Depends(_lan_user)


def lan_person(user: LanUserDep) -> str:
    """The person key of the LAN token's user: the gateway user (``sub``), the same person as on the web."""
    return user_person(user.id)
