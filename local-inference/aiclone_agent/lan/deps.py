"""The LAN listener's caller: the user of the LAN token in the Authorization header, checked offline."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aiclone_agent.lan.tokens import LanUser


def _lan_user(request: Request) -> LanUser:
    return request.app.state.runtime.lan_tokens.user(request.headers.get("authorization"))


LanUserDep = Annotated[LanUser, Depends(_lan_user)]
RequireLanUser = Depends(_lan_user)
