"""``/api/channels``: the persona per channel (owner, web, telegram, api), persisted to config.yaml.
What GET returns, PUT accepts; a PUT replaces the profiles it names and keeps the others."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from aiclone_agent.api.deps import ConfigDep
from aiclone_agent.core.config import ChannelProfile, ChannelsSection

router = APIRouter(prefix="/api/channels", tags=["channels"])


class ChannelsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: ChannelProfile | None = None
    web: ChannelProfile | None = None
    telegram: ChannelProfile | None = None
    api: ChannelProfile | None = None


@router.get("")
async def get_channels(config: ConfigDep) -> ChannelsSection:
    return config.current.channels


@router.put("")
async def update_channels(body: ChannelsUpdate, config: ConfigDep) -> ChannelsSection:
    # unset fields take their defaults again, ``memory`` included (the api profile's is off)
    changes = {name: profile.model_dump(exclude_unset=True) for name, profile in body if profile is not None}

    def apply(data: dict) -> None:
        data.setdefault("channels", {}).update(changes)

    return config.update(apply).channels
