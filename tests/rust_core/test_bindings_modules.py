"""The PyO3 layer's modules (rust-core/python/src/*.rs) depend on each other in one direction.

With a cycle (tokenizer.rs calling into fit.rs and chunk.rs, which named tokenizer.rs's class) no
file can be read or changed alone; ``Tokenizer.fit`` and ``Tokenizer.chunk`` hand the core
tokenizer down instead.
"""

from __future__ import annotations

import re
from pathlib import Path

SOURCES = Path(__file__).resolve().parents[2] / "rust-core" / "python" / "src"
CRATE_PATH = re.compile(r"\bcrate::(\w+)")


def module_graph(folder: Path) -> dict[str, set[str]]:
    """{module: the sibling modules its code names as ``crate::<module>``}."""
    modules = {path.stem for path in folder.glob("*.rs")}
    return {
        path.stem: (set(CRATE_PATH.findall(path.read_text(encoding="utf-8"))) & modules) - {path.stem}
        for path in sorted(folder.glob("*.rs"))
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first walk meets, each as the path that closes it."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def test_the_binding_modules_depend_on_each_other_without_a_cycle() -> None:
    graph = module_graph(SOURCES)
    assert {"tokenizer", "fit", "chunk"} <= set(graph)
    assert "tokenizer" in graph["stream"]  # the check reads the real files
    assert cycles(graph) == []


def test_the_check_sees_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "lib.rs").write_text("mod a;\nmod b;\n")
    (tmp_path / "a.rs").write_text("use crate::b::B;\n")
    (tmp_path / "b.rs").write_text("use crate::errors::guard;\nfn f(x: &crate::a::A) {}\n")
    assert cycles(module_graph(tmp_path)) == [["a", "b", "a"]]
