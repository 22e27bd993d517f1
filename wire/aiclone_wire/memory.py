"""Long-term memory on the wire: whose a memory is, what one looks like, and the link's two frames.

A person key names who a memory belongs to. Only the side that authenticated the person sets it,
never a request body: the gateway stamps ``Request.person`` from the signed-in user (``user:<id>``),
the agent derives ``telegram:<bot_id>:<user_id>`` from a ``TelegramRequest`` and uses ``owner`` for
its own admin and ``/v1`` key. The agent never mixes persons: a memory of one is never recalled,
shown or cited for another.

``memory_request`` (gateway -> agent) lets a signed-in user list, search and erase their own
memories and switch memory off for themselves; the agent answers with one ``memory_result`` or an
``error`` carrying the same ``id``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from aiclone_wire.frame import _Frame

PERSON_KEY_PATTERN = r"^(owner|user:[A-Za-z0-9_-]{1,64}|telegram:-?\d{1,20}:\d{1,20})$"
PersonKey = Annotated[str, Field(min_length=1, max_length=128, pattern=PERSON_KEY_PATTERN)]
OWNER_PERSON = "owner"
# The longest search a person may send in a ``memory_request``.
MAX_MEMORY_QUERY_CHARS = 500


def user_person(user_id: str) -> str:
    """The person key of a gateway user (web chat, their API keys, their LAN token)."""
    return f"user:{user_id}"


def telegram_person(bot_id: int | str, user_id: int | str) -> str:
    """The person key of a Telegram user of one bot (in a group: the author, not the group)."""
    return f"telegram:{bot_id}:{user_id}"


class MemoryRecord(BaseModel):
    """One remembered round, as every list and every answer's ``memories`` carries it."""

    model_config = ConfigDict(frozen=True)

    # opaque, e.g. "m_" + 16 hex
    id: str = Field(min_length=1, max_length=64)
    # the round as kept: "Q: …\nA: …", cut to the message limit
    text: str
    # when the round finished (UTC)
    at: datetime
    conversation_id: str | None = None
    # owner | web | api | telegram | lan
    channel: str
    # marked important: "remember that …", "запомни, что …", or a pin in the UI
    pinned: bool = False
    # whose it is: filled only in the owner's admin views
    person: str | None = None


class MemoryRequest(_Frame):
    """gateway -> agent: a signed-in user's own memories (list/search, erase, switch)."""

    type: Literal["memory_request"] = "memory_request"
    id: str = Field(min_length=1, max_length=64)
    person: PersonKey
    op: Literal["list", "delete", "delete_all", "settings"]
    # for "delete"
    memory_id: str | None = Field(default=None, max_length=64)
    # for "list": a search
    query: str | None = Field(default=None, max_length=MAX_MEMORY_QUERY_CHARS)
    # for "settings": None reads, True/False switches memory for this person
    enabled: bool | None = None


class MemoryResult(_Frame):
    """agent -> gateway: the answer to one ``memory_request``."""

    type: Literal["memory_result"] = "memory_result"
    id: str
    # for "list"
    memories: list[MemoryRecord] = Field(default_factory=list)
    # for "delete" and "delete_all"
    deleted: int = Field(default=0, ge=0)
    # the person's own switch, after the op
    enabled: bool = True
