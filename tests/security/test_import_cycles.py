"""No import cycle in either program, between files or between packages (rooms).

A cycle is what forces collaborators to be assigned after construction and makes the import
order decide whether the program starts. Imports under `if TYPE_CHECKING:` do not count (they
never run); imports inside functions do (a lazy import is still a dependency, only hidden).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = [ROOT / "local-inference" / "aiclone_agent", ROOT / "backend" / "aiclone_gateway"]


def _module_name(package: Path, path: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of `if TYPE_CHECKING:` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _imports(module: str, is_package: bool, tree: ast.AST, known: set[str]) -> set[str]:
    """The program's own modules that `module` imports at run time."""
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def import_graph(package: Path) -> dict[str, set[str]]:
    files = {
        _module_name(package, path): path for path in package.rglob("*.py") if "migrations" not in path.parts
    }
    known = set(files)
    return {
        module: _imports(
            module, path.name == "__init__.py", ast.parse(path.read_text(encoding="utf-8")), known
        )
        for module, path in files.items()
    }


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def room_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    rooms: dict[str, set[str]] = {}
    for module, targets in graph.items():
        rooms.setdefault(_room(module), set()).update(_room(t) for t in targets if _room(t) != _room(module))
    return rooms


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package_parents(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop the edge from a package to its own submodules (`__init__` re-exports are not cycles)."""
    return {m: {t for t in targets if not t.startswith(f"{m}.")} for m, targets in graph.items()}


@pytest.mark.parametrize("package", PROGRAMS, ids=lambda p: p.name)
def test_no_file_level_cycle(package: Path):
    assert cycles(_package_parents(import_graph(package))) == []


@pytest.mark.parametrize("package", PROGRAMS, ids=lambda p: p.name)
def test_no_package_level_cycle(package: Path):
    assert cycles(room_graph(import_graph(package))) == []


def test_the_check_finds_a_cycle_through_a_lazy_import_but_not_a_type_only_one(tmp_path: Path):
    package = tmp_path / "aiclone_x"
    (package / "a").mkdir(parents=True)
    (package / "b").mkdir()
    for name in ("", "a/", "b/"):
        (package / f"{name}__init__.py").write_text("")
    (package / "a" / "one.py").write_text("from aiclone_x.b.two import f\n")
    (package / "b" / "two.py").write_text("def f():\n    from ..a import one\n    return one\n")
    (package / "b" / "three.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from aiclone_x.a.one import f\n"
    )
    graph = import_graph(package)
    assert cycles(_package_parents(graph)) == [["aiclone_x.a.one", "aiclone_x.b.two"]]
    assert cycles(room_graph(graph)) == [["a", "b"]]
    assert "aiclone_x.a.one" not in graph["aiclone_x.b.three"]
