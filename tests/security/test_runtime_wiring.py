"""Each runtime part is complete when it is built: the composition root passes collaborators to
constructors and never sets an attribute on a part afterwards (``hub.on_telegram = ...``).

Setting them afterwards is what made the types say ``Optional`` for what is always there and let a
part be used before it was whole. Both programs' composition roots are checked (the agent's
``app.state.runtime``, FastAPI's own container for what routes read, is the one allowed target).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "local-inference" / "aiclone_agent"
RUNTIMES = [
    ROOT / "backend" / "aiclone_gateway" / "runtime.py",
    AGENT / "runtime.py",
    AGENT / "app.py",
    AGENT / "lan_app.py",
]
ALLOWED = {"app.state.runtime"}


def attributes_set_on_others(source: str) -> list[str]:
    """Every ``x.attribute = ...`` (also annotated, augmented or unpacked) other than the object's
    own ``self.attribute``; ``self.part.attribute`` is someone else's."""
    found = []

    def check(target: ast.expr, line: int) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                check(element, line)
        elif isinstance(target, ast.Starred):
            check(target.value, line)
        elif isinstance(target, ast.Attribute) and not (
            isinstance(target.value, ast.Name) and target.value.id in ("self", "cls")
        ):
            found.append(f"line {line}: {ast.unparse(target)}")

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                check(target, node.lineno)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            check(node.target, node.lineno)
    return found


@pytest.mark.parametrize("runtime", RUNTIMES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_attribute_is_set_on_a_part_after_it_is_built(runtime: Path):
    late = attributes_set_on_others(runtime.read_text(encoding="utf-8"))
    assert [line for line in late if line.split(": ", 1)[1] not in ALLOWED] == []


def test_the_check_sees_a_late_collaborator_but_not_the_objects_own_state():
    source = (
        "def build():\n"
        "    hub = Hub()\n"
        "    hub.on_telegram = telegram.take_over\n"
        "    hub.stats.replicas: list = []\n"
        "    a, (b.c, d) = 1, (2, 3)\n"
        "class Runtime:\n"
        "    def start(self):\n"
        "        self._tasks = []\n"
        "        self.count += 1\n"
        "        self.cluster.on_user_event = self._user_event\n"
    )
    assert attributes_set_on_others(source) == [
        "line 3: hub.on_telegram",
        "line 4: hub.stats.replicas",
        "line 5: b.c",
        "line 10: self.cluster.on_user_event",
    ]
