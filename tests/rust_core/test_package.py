"""The shipped ``clone_core`` package needs nothing beyond the standard library and its own
compiled module: the agent installs the wheel without the dev-only ``tokenizers`` package."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "rust-core" / "python" / "clone_core"


def _top_level_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_package_imports_only_the_standard_library_and_itself() -> None:
    sources = sorted(PACKAGE.glob("*.py"))
    assert sources, PACKAGE
    foreign = {
        f"{path.name}: {module}"
        for path in sources
        for module in _top_level_imports(path)
        if module not in sys.stdlib_module_names and module not in ("clone_core", "__future__")
    }
    assert not foreign, foreign
