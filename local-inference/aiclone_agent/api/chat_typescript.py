"""The test chat's stream events (``api/chat.py``) as TypeScript, for the admin panel.

``python scripts/typescript.py`` rewrites ``frontend/src/api/agentChatEvents.ts``;
``--check`` only says whether it is current (``tests/local_inference/api/test_chat_events_contract.py``
runs the same comparison). How models become declarations: ``aiclone_wire.typescript``.
"""

from __future__ import annotations

from pydantic import TypeAdapter

from aiclone_agent.api.chat import ChatEvents
from aiclone_agent.core.config import REPO_ROOT
from aiclone_wire.typescript import Generated, Union, header, render_module

TARGET = REPO_ROOT / "frontend" / "src" / "api" / "agentChatEvents.ts"
HEADER = header("local-inference/aiclone_agent/api/chat.py")


def render(events: TypeAdapter = ChatEvents) -> str:
    return render_module(
        HEADER,
        [
            Union(
                "AgentChatEvent",
                events,
                "serialization",
                "Events of the agent's POST /api/chat/stream, in order: sources, delta*, then done or error.",
            )
        ],
    )


GENERATED = Generated(TARGET, render)
