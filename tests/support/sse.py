"""The admin test chat's SSE stream, read as the admin app reads it (checked against its event types)."""

from __future__ import annotations

import json

from aiclone_agent.api.chat import ChatEvents


def parse_sse(text: str) -> list[dict]:
    events = []
    for block in text.strip().split("\n\n"):
        assert block.startswith("data: "), block
        ChatEvents.validate_json(block[len("data: ") :], strict=True)  # the admin's types say the same
        events.append(json.loads(block[len("data: ") :]))
    return events
