"""Which part of a conversation travels to the agent: the newest turns that fit one link frame.

The agent fits the history to the model's context window itself; the gateway only makes sure
a long conversation can never produce a frame the link refuses (which would drop the link for
everyone). The oldest turns go first; the question being answered always stays.
"""

from __future__ import annotations

import json

# What the rest of the frame takes besides the messages (ids, model, flags), generously.
FRAME_OVERHEAD_BYTES = 4_096


def _size(message: dict[str, str]) -> int:
    return len(json.dumps(message, ensure_ascii=False).encode()) + 1  # + the list's comma


def newest_that_fit(messages: list[dict[str, str]], frame_bytes: int) -> list[dict[str, str]]:
    """The longest suffix of ``messages`` whose JSON fits ``frame_bytes`` (the last one always)."""
    budget = frame_bytes - FRAME_OVERHEAD_BYTES
    kept = 0
    for message in reversed(messages):
        budget -= _size(message)
        if budget < 0 and kept:
            break
        kept += 1
    return messages[len(messages) - kept :]
