"""The suite's own shape: shared fixtures and helpers live in ``tests/support/``; no test module
imports another test module or a conftest (each can be read, moved and run alone)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def cross_imports(root: Path) -> list[str]:
    """``file: module`` for every import of a ``test_*`` module or a ``conftest`` under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for module in modules:
                last = module.rsplit(".", 1)[-1]
                if module.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                    found.append(f"{path.relative_to(root)}: {module}")
    return found


def test_no_test_module_imports_another_or_a_conftest():
    assert cross_imports(TESTS) == []


def test_the_check_sees_a_cross_import(tmp_path: Path):
    (tmp_path / "test_a.py").write_text("from tests.backend.api.test_chat import helper\n")
    (tmp_path / "test_b.py").write_text("import tests.backend.conftest\n")
    assert cross_imports(tmp_path) == [
        "test_a.py: tests.backend.api.test_chat",
        "test_b.py: tests.backend.conftest",
    ]
