"""The public chat's frames (``chat/protocol.py``) as TypeScript, for the web UI.

``python scripts/typescript.py`` rewrites ``frontend/src/api/chatFrames.ts``;
``--check`` only says whether it is current (``tests/backend/chat/test_frames_contract.py`` runs
the same comparison). How models become declarations: ``aiclone_wire.typescript``.
"""

from __future__ import annotations

from pydantic import TypeAdapter

from aiclone_gateway.chat.protocol import ClientFrame, ServerFrames
from aiclone_gateway.core.config import REPO_ROOT
from aiclone_wire.typescript import Generated, Union, header, render_module

TARGET = REPO_ROOT / "frontend" / "src" / "api" / "chatFrames.ts"
HEADER = header("backend/aiclone_gateway/chat/protocol.py")


def render(server: TypeAdapter = ServerFrames, client: TypeAdapter = ClientFrame) -> str:
    return render_module(
        HEADER,
        [
            Union(
                "ServerFrame",
                server,
                "serialization",
                "Frames the gateway sends over /ws/chat (and as SSE data on POST /api/chat/stream).",
            ),
            Union(
                "ClientFrame",
                client,
                "validation",
                "Frames the browser sends over /ws/chat (POST /api/chat/stream takes one MessageIn).",
            ),
        ],
    )


GENERATED = Generated(TARGET, render)
