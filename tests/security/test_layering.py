"""`core/` imports nothing above it, in both programs (the layering the error table relies on)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "package",
    [ROOT / "local-inference" / "aiclone_agent", ROOT / "backend" / "aiclone_gateway"],
    ids=lambda p: p.name,
)
def test_core_imports_nothing_above_it(package: Path):
    name = package.name
    above = {
        f"{path}: {module}"
        for path in sorted((package / "core").glob("*.py"))
        for module in _imports(path)
        if module.startswith(f"{name}.") and not module.startswith(f"{name}.core")
    }
    assert not above, above


def test_the_check_sees_an_upward_import(tmp_path: Path):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "x.py").write_text("from aiclone_agent.chat.service import ChatService\n")
    assert "aiclone_agent.chat.service" in _imports(tmp_path / "core" / "x.py")
