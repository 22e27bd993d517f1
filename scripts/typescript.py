"""Regenerates the web UI's TypeScript declarations from both programs' models, or with ``--check``
only says whether the checked-in files are current (exit status 1 when one is not).

    .venv/bin/python scripts/typescript.py [--check]

Each program says what it generates (a ``GENERATED`` beside its models); how models become
declarations is ``aiclone_wire.typescript``. The contract tests compare the same files.
"""

from __future__ import annotations

import sys

from aiclone_agent.api.chat_typescript import GENERATED as AGENT_CHAT_EVENTS
from aiclone_agent.overview.typescript import GENERATED as AGENT_OVERVIEW
from aiclone_gateway.chat.typescript import GENERATED as CHAT_FRAMES
from aiclone_wire.typescript import generate

FILES = [CHAT_FRAMES, AGENT_CHAT_EVENTS, AGENT_OVERVIEW]


def main(argv: list[str] | None = None) -> int:
    return generate(FILES, argv)


if __name__ == "__main__":
    sys.exit(main())
