"""The test chat's stream events (``api/chat.py``) as TypeScript, for the admin panel.

``python -m aiclone_agent.api.chat_typescript`` rewrites ``frontend/src/api/agentChatEvents.ts``;
``--check`` only says whether it is current (``tests/local_inference/api/test_chat_events_contract.py``
runs the same comparison). How models become declarations: ``aiclone_wire.typescript``.
"""

from __future__ import annotations

import sys

from pydantic import TypeAdapter

from aiclone_agent.api.chat import ChatEvents
from aiclone_agent.core.config import REPO_ROOT
from aiclone_wire.typescript import Union, generate_cli, render_module

COMMAND = "python -m aiclone_agent.api.chat_typescript"
TARGET = REPO_ROOT / "frontend" / "src" / "api" / "agentChatEvents.ts"
HEADER = (
    "// Generated from local-inference/aiclone_agent/api/chat.py by\n"
    f"// `{COMMAND}`: do not edit by hand (a test compares them).\n"
)


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


def main(argv: list[str] | None = None) -> int:
    return generate_cli(TARGET, render, COMMAND, argv)


if __name__ == "__main__":
    sys.exit(main())
