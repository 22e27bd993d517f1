"""The overview page's contract: the web UI's types are the agent's response models.

``frontend/src/api/agentOverview.ts`` is generated from ``aiclone_agent.overview.protocol``; these
tests fail when the checked-in file and the models differ."""

from __future__ import annotations

from pydantic import create_model

from aiclone_agent.overview import protocol
from aiclone_agent.overview.typescript import TARGET, render


def test_the_checked_in_typescript_is_what_the_models_say():
    assert TARGET.read_text(encoding="utf-8") == render(), "run python scripts/typescript.py"


def test_a_renamed_field_fails_the_comparison():
    renamed = create_model(
        "OverviewResponse",
        __base__=protocol.OverviewResponse,
        interval_seconds=(float, ...),
    )
    drifted = render(renamed)
    assert drifted != TARGET.read_text(encoding="utf-8")
    assert "  interval_seconds: number\n" in drifted
