"""Which channel profile (persona per channel) a request gets, and what it changes."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from aiclone_agent.core.config import ChannelProfile, ChannelsSection
from aiclone_agent.engine.base import SamplingParams

if TYPE_CHECKING:
    from aiclone_agent.rag.retrieval import RetrievedChunk

# Request channels as the agent's entry points name them -> the profile that answers them.
PROFILE_OF_CHANNEL = {
    "local": "owner",
    "owner": "owner",
    "relay": "web",
    "web": "web",
    "lan": "web",  # the family at home, on the LAN listener: the public chat's persona
    "telegram": "telegram",
    "openai": "api",
    "api": "api",
}


def profile_name(channel: str) -> str:
    return PROFILE_OF_CHANNEL.get(channel, "api")  # an unknown caller gets the most guarded profile


def is_public(channel: str) -> bool:
    """Every profile but the owner's answers people other than the owner: they read only documents
    open to everyone (``visibility: public``), never the owner's own."""
    return profile_name(channel) != "owner"


def profile_for(channels: ChannelsSection, channel: str) -> ChannelProfile:
    return getattr(channels, profile_name(channel))


def allowed_knowledge(
    profile: ChannelProfile, chunks: list[RetrievedChunk], public: bool = False
) -> list[RetrievedChunk]:
    """What the profile may cite of ``chunks``; for a ``public`` channel, only documents open to everyone."""
    if public:
        chunks = [c for c in chunks if c.visibility == "public"]
    if profile.knowledge == "none":
        return []
    if profile.knowledge == "selected":
        allowed = set(profile.documents)
        return [c for c in chunks if c.document_id in allowed]
    return chunks


def profile_params(profile: ChannelProfile, params: SamplingParams) -> SamplingParams:
    """``params`` with the profile's answer-length cap and adapter scale."""
    if profile.max_tokens is not None and profile.max_tokens < params.max_tokens:
        params = replace(params, max_tokens=profile.max_tokens)
    if profile.adapter_scale is not None:
        params = replace(params, adapter_scale=profile.adapter_scale)
    return params
