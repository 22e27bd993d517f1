"""``GET /api/overview``'s models (``overview/protocol.py``) as TypeScript, for the admin panel.

``python scripts/typescript.py`` rewrites ``frontend/src/api/agentOverview.ts``;
``--check`` only says whether it is current (``tests/local_inference/overview/test_contract.py``
runs the same comparison). How models become declarations: ``aiclone_wire.typescript``.
"""

from __future__ import annotations

from pydantic import BaseModel

from aiclone_agent.core.config import REPO_ROOT
from aiclone_agent.overview.protocol import OverviewResponse
from aiclone_wire.typescript import Generated, header, interface

TARGET = REPO_ROOT / "frontend" / "src" / "api" / "agentOverview.ts"
HEADER = header("local-inference/aiclone_agent/overview/protocol.py")


def render(response: type[BaseModel] = OverviewResponse) -> str:
    schema = response.model_json_schema(mode="serialization")
    lines = [HEADER.rstrip("\n")]
    for name, shape in sorted(schema.pop("$defs", {}).items()):
        lines.extend(["", *interface(name, shape)])
    lines.extend(["", "// The body of GET /api/overview.", "", *interface(response.__name__, schema)])
    return "\n".join(lines) + "\n"


GENERATED = Generated(TARGET, render)
