"""The agent's objects are complete when built: ``build_runtime`` and ``create_app`` pass every
collaborator through a constructor and never set one on an object afterwards (``x.y = ...``), and
nothing the runtime holds is typed Optional (it is always there)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from aiclone_agent.runtime import AgentRuntime

PACKAGE = Path(__file__).resolve().parents[2] / "local-inference" / "aiclone_agent"
# FastAPI's own container for what routes read (``api.deps``): the one place state is set on
ALLOWED = {"app.state.runtime"}


def attribute_assignments(source: str) -> list[str]:
    """Every ``a.b = ...`` / ``a.b.c += ...`` target in ``source``, as written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.ctx, ast.Store):
                    found.append(ast.unparse(part))
    return found


def test_the_runtime_and_the_app_assign_no_collaborator_after_construction():
    for name in ("runtime.py", "app.py", "lan_app.py"):
        source = (PACKAGE / name).read_text(encoding="utf-8")
        assert [t for t in attribute_assignments(source) if t not in ALLOWED] == [], name


def test_nothing_the_runtime_holds_is_optional():
    optional = [f.name for f in dataclasses.fields(AgentRuntime) if "None" in str(f.type)]
    assert optional == []
    assert AgentRuntime.__dataclass_params__.frozen


def test_the_check_sees_a_collaborator_set_afterwards():
    late = "runtime = Runtime()\nruntime.rag = rag\nruntime.gateway.direct_url = url\n"
    assert attribute_assignments(late) == ["runtime.rag", "runtime.gateway.direct_url"]
