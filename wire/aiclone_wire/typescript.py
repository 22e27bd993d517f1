"""Pydantic models as TypeScript declarations: how the web UI gets each program's frame types.

The gateway (public chat frames) and the agent (the admin's test chat events) each render their
models into a file under ``frontend/src/api/`` and a test compares it with the models. Everything
comes from the models' JSON schema: what a program sends in serialization mode (with
``json_schema_serialization_defaults_required`` every field it always sends is required), what it
accepts in validation mode (a field with a default may be left out, except the tag of a tagged
union). A schema construct this renderer does not know fails loudly instead of becoming ``any``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

_SCALARS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}


class UnsupportedSchemaError(ValueError):
    pass


@dataclass(frozen=True)
class Union:
    """One exported union: ``export type name = A | B ...`` with each member's interface."""

    name: str
    adapter: TypeAdapter
    mode: JsonSchemaMode
    comment: str


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    raise UnsupportedSchemaError(f"no TypeScript literal for {value!r}")


def _ref_name(ref: str) -> str:
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        raise UnsupportedSchemaError(f"unexpected $ref {ref}")
    return ref[len(prefix) :]


def ts_type(schema: dict[str, Any]) -> str:
    """The TypeScript type of one JSON schema node (field level)."""
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return " | ".join(_literal(value) for value in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(ts_type(option) for option in schema["anyOf"])
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array" and isinstance(schema.get("items"), dict):
        item = ts_type(schema["items"])
        return f"({item})[]" if " | " in item else f"{item}[]"
    if (
        kind == "object"
        and "properties" not in schema
        and isinstance(schema.get("additionalProperties"), dict)
    ):
        return f"Record<string, {ts_type(schema['additionalProperties'])}>"
    if kind == "object" and "properties" not in schema and schema.get("additionalProperties") is True:
        return "Record<string, unknown>"  # dict[str, Any], said so (a bare object stays refused)
    raise UnsupportedSchemaError(f"no TypeScript for the schema {schema}")


def _doc(schema: dict[str, Any], indent: str = "") -> list[str]:
    lines = schema.get("description", "").splitlines()
    text = " ".join(line.strip() for line in lines if line.strip()).replace("``", "`")
    return [f"{indent}/** {text} */"] if text else []


def interface(name: str, schema: dict[str, Any], always: frozenset[str] = frozenset()) -> list[str]:
    """``export interface name {...}``; a field not in ``required`` (nor in ``always``) is optional."""
    if schema.get("type") != "object" or "properties" not in schema:
        raise UnsupportedSchemaError(f"{name} is not an object with properties")
    required = set(schema.get("required", ())) | always
    lines = [*_doc(schema), f"export interface {name} {{"]
    for field, field_schema in schema["properties"].items():
        mark = "" if field in required else "?"
        key = field if field.isidentifier() else _literal(field)
        lines.extend(_doc(field_schema, "  "))
        lines.append(f"  {key}{mark}: {ts_type(field_schema)}")
    lines.append("}")
    return lines


def _declare(union: Union) -> tuple[dict[str, Any], list[str]]:
    """The union's other definitions (by name) and its own declarations, members in union order."""
    schema = union.adapter.json_schema(mode=union.mode)
    options = schema.get("oneOf") or schema.get("anyOf") or ()
    if not options or any("$ref" not in option for option in options):
        raise UnsupportedSchemaError(f"{union.name} must be a union of models")
    members = [_ref_name(option["$ref"]) for option in options]
    tag = schema.get("discriminator", {}).get("propertyName")
    always = frozenset({tag}) if tag else frozenset()
    defs = schema["$defs"]
    lines: list[str] = []
    for member in members:
        lines.extend([*interface(member, defs[member], always), ""])
    lines.append(f"export type {union.name} =")
    lines.extend(f"  | {member}" for member in members)
    return {key: value for key, value in defs.items() if key not in members}, lines


def render_module(header: str, unions: list[Union]) -> str:
    """The TypeScript module: shapes the unions share first (by name), then each union."""
    shared: dict[str, Any] = {}
    sections: list[str] = []
    for union in unions:
        defs, lines = _declare(union)
        for name, schema in defs.items():
            if shared.setdefault(name, schema) != schema:  # one name, two shapes (e.g. in and out)
                raise UnsupportedSchemaError(f"{name} differs between {union.name} and an earlier union")
        sections.extend(["", f"// {union.comment}", "", *lines])
    body: list[str] = []
    for name, schema in sorted(shared.items()):
        body.extend(["", *interface(name, schema)])
    return "\n".join([header.rstrip("\n"), *body, *sections]) + "\n"


def write_or_check(target: Path, text: str, command: str, check: bool) -> int:
    """Write ``text`` to ``target`` when it differs; with ``check`` only say whether it does."""
    current = target.read_text(encoding="utf-8") if target.exists() else ""
    if current == text:
        return 0
    if check:
        sys.stderr.write(f"{target} is out of date: run {command}\n")
        return 1
    target.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")
    return 0


@dataclass(frozen=True)
class Generated:
    """One generated file: where it lives and how its text is made from the models."""

    target: Path
    render: Callable[[], str]


# The one command line that regenerates every file (it knows both programs; this package does not).
COMMAND = "python scripts/typescript.py"


def header(source: str) -> str:
    """The first lines of a generated file: where it comes from and how to regenerate it."""
    return f"// Generated from {source} by\n// `{COMMAND}`: do not edit by hand (a test compares them).\n"


def generate(files: list[Generated], argv: list[str] | None = None) -> int:
    """The command line: write each file from its models, or with --check only compare (1: one differs)."""
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Regenerates the web UI's TypeScript from the models."
    )
    parser.add_argument("--check", action="store_true", help="only say whether the files are current")
    check = parser.parse_args(argv).check
    return max((write_or_check(file.target, file.render(), COMMAND, check) for file in files), default=0)
