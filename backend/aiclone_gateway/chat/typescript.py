"""The public chat's frames (``chat/protocol.py``) as TypeScript, for the web UI.

``python -m aiclone_gateway.chat.typescript`` rewrites ``frontend/src/api/chatFrames.ts``;
``--check`` only says whether it is current (``tests/backend/chat/test_frames_contract.py`` runs
the same comparison). The declarations come from the models' JSON schema: what the gateway sends
in serialization mode (every field always present), what it accepts in validation mode (a field
with a default may be left out, except the ``type`` a tagged union needs). A schema construct
this renderer does not know fails loudly instead of turning into ``any``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from aiclone_gateway.chat.protocol import ClientFrame, ServerFrames
from aiclone_gateway.core.config import REPO_ROOT

TARGET = REPO_ROOT / "frontend" / "src" / "api" / "chatFrames.ts"
HEADER = (
    "// Generated from backend/aiclone_gateway/chat/protocol.py by\n"
    "// `python -m aiclone_gateway.chat.typescript`: do not edit by hand (a test compares them).\n"
)
_SCALARS = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean", "null": "null"}


class UnsupportedSchemaError(ValueError):
    pass


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


def _union(name: str, adapter: TypeAdapter, mode: JsonSchemaMode) -> tuple[dict[str, Any], list[str]]:
    """The union's member definitions (by name) and its declarations, members in union order."""
    schema = adapter.json_schema(mode=mode)
    members = [_ref_name(option["$ref"]) for option in schema.get("oneOf", ())]
    tag = schema.get("discriminator", {}).get("propertyName")
    if not members or tag is None:
        raise UnsupportedSchemaError(f"{name} must be a tagged union of models")
    defs = schema["$defs"]
    lines: list[str] = []
    for member in members:
        lines.extend([*interface(member, defs[member], frozenset({tag})), ""])
    lines.append(f"export type {name} =")
    lines.extend(f"  | {member}" for member in members)
    return {key: value for key, value in defs.items() if key not in members}, lines


def render(
    server: TypeAdapter = ServerFrames, client: TypeAdapter = ClientFrame, header: str = HEADER
) -> str:
    """The TypeScript module: shared shapes first (by name), then server frames, then client frames."""
    server_defs, server_lines = _union("ServerFrame", server, "serialization")
    client_defs, client_lines = _union("ClientFrame", client, "validation")
    clashes = [
        name for name in client_defs.keys() & server_defs.keys() if client_defs[name] != server_defs[name]
    ]
    if clashes:  # one name, two shapes (e.g. a default that is optional in and always sent out)
        raise UnsupportedSchemaError(f"{', '.join(sorted(clashes))} differ between the two directions")
    shared: list[str] = []
    for name, schema in sorted({**client_defs, **server_defs}.items()):
        shared.extend([*interface(name, schema), ""])
    return (
        "\n".join(
            [
                header.rstrip("\n"),
                "",
                *shared,
                "// Frames the gateway sends over /ws/chat (and as SSE data on POST /api/chat/stream).",
                "",
                *server_lines,
                "",
                "// Frames the browser sends over /ws/chat (POST /api/chat/stream takes one MessageIn).",
                "",
                *client_lines,
            ]
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiclone_gateway.chat.typescript", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only say whether the file is current")
    args = parser.parse_args(argv)
    text = render()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if args.check:
        if current != text:
            sys.stderr.write(f"{TARGET} is out of date: run python -m aiclone_gateway.chat.typescript\n")
            return 1
        return 0
    if current != text:
        TARGET.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {TARGET}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
