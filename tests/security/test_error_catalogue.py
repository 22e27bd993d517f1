"""Every error code either program answers has a sentence in both UI languages.

A person reads refusals from the UIs' catalogue (``frontend/src/shared/i18n/en.ts`` and ``ru.ts``:
``error.<code>``, ``field.<code>`` for one bad field), never the server's English or a library's
text. The codes come from three places, and each is checked against the others:
- the source: every ``code="..."`` a program raises or sends (read from its syntax tree), which must
  be in the one table (``aiclone_wire.error_codes``);
- both programs' OpenAPI schemas: the codes their error schema declares (``x-error-codes``,
  ``x-field-codes``), which must be the table;
- the table: each code needs an English and a Russian sentence naming only the code's params.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from aiclone_agent.app import create_app as create_agent_app
from aiclone_agent.core.config import ConfigStore, EnvSettings
from aiclone_gateway.core.config import Settings
from aiclone_gateway.main import create_app as create_gateway_app
from aiclone_wire.error_codes import ERROR_CODES, FIELD_CODES
from tests.support.fixtures.agents import write_config

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    ROOT / "local-inference/aiclone_agent",
    ROOT / "backend/aiclone_gateway",
    ROOT / "wire/aiclone_wire",
]
I18N = ROOT / "frontend/src/shared/i18n"
ENTRY = re.compile(r"^\s*'([\w.]+)':\s*'((?:[^'\\]|\\.)*)',?\s*$", re.MULTILINE)
# calls whose positional argument at this index is an error code
CODE_ARGUMENT = {
    "Problem": 2,
    "error_response": 2,
    "error_body": 2,
    "_unauthorized": 1,
    "_report_error": 1,
    "SettingRefusedError": 2,
    "TelegramConfigError": 1,
    "WeakPasswordError": 0,
}


def _strings(node: ast.AST | None) -> list[str]:
    """The string constants ``node`` may evaluate to (a literal, or either side of ``a if c else b``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def codes_in(source: str) -> set[str]:
    """Every error code one module's source names: ``code=``, ``code = ...``, a problem's positional
    code and what a ``..._error_code()`` function returns."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name.endswith("error_code"):
            found.update(
                c for inner in ast.walk(node) if isinstance(inner, ast.Return) for c in _strings(inner.value)
            )
        if isinstance(node, ast.Call):
            found.update(c for k in node.keywords if k.arg == "code" for c in _strings(k.value))
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            index = CODE_ARGUMENT.get(name)
            if index is not None and len(node.args) > index:
                found.update(_strings(node.args[index]))
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "code" for t in node.targets):
            found.update(_strings(node.value))
    return found


def source_codes() -> set[str]:
    return {
        code for root in SOURCES for path in root.rglob("*.py") for code in codes_in(path.read_text("utf-8"))
    }


def catalogue(language: str) -> dict[str, str]:
    return dict(ENTRY.findall((I18N / f"{language}.ts").read_text("utf-8")))


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.fixture(scope="module")
def schemas(tmp_path_factory, engine) -> dict[str, dict]:
    """Both programs' OpenAPI documents, from their apps as they are assembled (nothing started)."""
    root = tmp_path_factory.mktemp("schemas")
    config = write_config(root / "config.yaml")
    env = EnvSettings(config=config, data_dir=root / "agent", models_dir=root / "models")
    agent = create_agent_app(env, ConfigStore(config), engine)
    try:
        agent_schema = agent.openapi()
    finally:
        agent.state.runtime.store.close()
    gateway_schema = create_gateway_app(Settings(data_dir=root / "gateway")).openapi()
    return {"agent": agent_schema, "gateway": gateway_schema}


def test_the_source_scan_sees_each_way_a_code_is_written():
    source = """
raise ApiError(403, "closed", code="registration_closed")
code = "empty_file" if not data else "unsupported_document"
Problem(503, str(self), "engine_busy", retry_after_s=1)
raise _unauthorized("wrong email or password", "invalid_credentials")
close = 4000 if reason == "replaced" else 1001
raise TelegramConfigError("cannot reach it", "telegram_unreachable", {"api_url": url})
def telegram_error_code(text):
    return "telegram_conflict"
"""
    assert codes_in(source) == {
        "registration_closed",
        "empty_file",
        "unsupported_document",
        "engine_busy",
        "invalid_credentials",
        "telegram_unreachable",
        "telegram_conflict",
    }


def test_every_code_the_programs_answer_is_in_the_table():
    unlisted = source_codes() - set(ERROR_CODES) - set(FIELD_CODES)
    assert not unlisted, (
        f"add these to aiclone_wire/error_codes.py (and the UIs' catalogue): {sorted(unlisted)}"
    )
    assert {
        "invite_required",
        "registration_closed",
        "unsupported_document",
        "telegram_unreachable",
    } <= source_codes()


def test_both_openapi_schemas_declare_the_tables_codes(schemas: dict[str, dict]):
    for program, schema in schemas.items():
        components = schema["components"]["schemas"]
        declared = {
            code: tuple(params) for code, params in components["ErrorObject"]["x-error-codes"].items()
        }
        assert declared == ERROR_CODES, program
        assert set(components["FieldError"]["x-field-codes"]) == set(FIELD_CODES), program
        refusals = [
            response
            for operations in schema["paths"].values()
            for operation in operations.values()
            for status, response in operation.get("responses", {}).items()
            if status.startswith(("4", "5"))
        ]
        assert refusals, program
        for response in refusals:
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorResponse"
            }


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_code_has_a_sentence_naming_only_its_params(language: str, schemas: dict[str, dict]):
    messages = catalogue(language)
    declared = set()
    for schema in schemas.values():
        components = schema["components"]["schemas"]
        declared |= {f"error.{code}" for code in components["ErrorObject"]["x-error-codes"]}
        declared |= {f"field.{code}" for code in components["FieldError"]["x-field-codes"]}
    tables = {f"error.{code}": params for code, params in ERROR_CODES.items()}
    tables |= {f"field.{code}": params for code, params in FIELD_CODES.items()}
    missing = sorted((declared | set(tables)) - set(messages))
    assert not missing, f"{language}.ts has no sentence for {missing}"
    for key, params in tables.items():
        extra = placeholders(messages[key]) - set(params)
        assert not extra, f"{language}.ts {key} names {extra}, which the server does not send"
    # what the UIs say for a code they do not know yet, by status, and for no answer at all
    for key in ("error.status.other", "error.status.server", "error.network_error"):
        assert messages.get(key), f"{language}.ts lacks {key}"


def test_the_russian_sentences_are_russian():
    """A code copied into ru.ts without translating it is caught here, not by a reader."""
    english = catalogue("en")
    for key, text in catalogue("ru").items():
        if key.startswith(("error.", "field.")):
            assert text != english[key] and re.search("[а-яё]", text, re.IGNORECASE), key
