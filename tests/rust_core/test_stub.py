"""The .pyi stub describes exactly the compiled module's public API."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from clone_core import _core

STUB = Path(_core.__file__).with_name("_core.pyi")


def stub_api() -> dict[str, dict[str, list[str] | None]]:
    """{top-level name: {member: parameter names (None for properties/attributes)}}."""
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    api: dict[str, dict[str, list[str] | None]] = {}

    def params(fn: ast.FunctionDef) -> list[str]:
        a = fn.args
        return [p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs] if p.arg not in ("self", "cls")]

    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members: dict[str, list[str] | None] = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    is_prop = any(isinstance(d, ast.Name) and d.id == "property" for d in item.decorator_list)
                    members[item.name] = None if is_prop else params(item)
            api[node.name] = members
        elif isinstance(node, ast.FunctionDef):
            api[node.name] = {"__call__": params(node)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            api[node.target.id] = {}
    return api


def runtime_params(obj) -> list[str]:
    sig = inspect.signature(obj)
    return [p.name for p in sig.parameters.values() if p.name not in ("self", "cls", "$self")]


def test_stub_lists_every_public_name() -> None:
    public = {n for n in dir(_core) if not n.startswith("__") and n not in ("_core",)}
    assert set(stub_api()) == public


def test_stub_signatures_match() -> None:
    for name, members in stub_api().items():
        obj = getattr(_core, name)
        if "__call__" in members:
            assert runtime_params(obj) == members["__call__"], name
            continue
        if not isinstance(obj, type) or issubclass(obj, BaseException):
            continue
        runtime = {m for m in vars(obj) if not m.startswith("_")}
        assert runtime == {m for m in members if not m.startswith("_")}, name
        for member, params in members.items():
            attr = inspect.getattr_static(obj, member)
            if params is None:
                assert not callable(attr) or (hasattr(attr, "__get__") and not hasattr(attr, "__text_signature__")), member
                continue
            target = getattr(obj, member) if member != "__init__" else obj
            assert runtime_params(target) == params, f"{name}.{member}"
