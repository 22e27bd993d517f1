"""Schemathesis against both apps' OpenAPI schemas, on real processes (the agent with the tiny
model; the gateway with a linked agent, as its owner): no request it can generate gets a 5xx, and
every status it answers is declared for the operation (the error statuses with the error schema:
``aiclone_wire.http_errors``) and every documented response matches its schema.

Bounded: a few examples per operation (AICLONE_FUZZ_EXAMPLES, default 8; a run with 40 did not
finish in 25 minutes on a loaded two-core machine, so 40 is for a quiet one). Left out: the routes
that reach other servers (Telegram's Bot API, the gateway link) and the ones that restart the
engine or swap the adapter (minutes each with random input, covered by their own tests).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.support.fixtures.agents import AgentProcess, write_config
from tests.support.fixtures.gateways import GatewayProcess, create_agent_token, sign_up, wait_online

EXAMPLES = int(os.environ.get("AICLONE_FUZZ_EXAMPLES", "8"))
SKIPPED = ("/api/messengers/telegram", "/api/gateway", "/api/adapter", "/api/model", "/api/engine/reload")


@pytest.fixture(scope="module")
def agent_for_fuzzing(tmp_path_factory, model_path: Path) -> Iterator[AgentProcess]:
    home = tmp_path_factory.mktemp("fuzz-agent")
    config = write_config(home / "config.yaml", model={"base_model_path": str(model_path), "max_tokens": 8})
    agent = AgentProcess(home, model_path, config).start(timeout=180)
    yield agent
    agent.stop()


def fuzz(schema, base_url: str, headers: dict[str, str]) -> list[str]:
    """Runs every operation's examples; the failures, one line each (the pytest plugin of this
    schemathesis release does not run under pytest 9, so hypothesis drives each operation here)."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
        )
        def run(case) -> None:
            case.call_and_validate(
                base_url=base_url,
                headers=headers,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
                timeout=60,
            )

        try:
            run()
        except (Exception, FailureGroup) as exc:  # noqa: BLE001 - every failing operation, reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:1500]}")
    return failures


@pytest.mark.process
@pytest.mark.slow
def test_the_agent_never_answers_5xx_and_keeps_its_schema(agent_for_fuzzing: AgentProcess):
    schema = schemathesis.openapi.from_url(f"{agent_for_fuzzing.url}/openapi.json")
    for path in SKIPPED:
        schema = schema.exclude(path_regex=f"^{path}")
    # the agent admits same-origin writes only (its CSRF guard): say so, as the admin page does
    failures = fuzz(schema, agent_for_fuzzing.url, {"Origin": agent_for_fuzzing.url})
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
async def test_the_gateway_never_answers_5xx_and_keeps_its_schema(fresh_gateway: GatewayProcess, own_agent):
    (owner,) = await sign_up(fresh_gateway, 1)
    own_agent(fresh_gateway, await create_agent_token(owner), max_tokens=8)
    await wait_online(fresh_gateway)
    headers = {"Authorization": owner.http.headers["Authorization"], "Origin": fresh_gateway.url}
    await owner.close()
    schema = schemathesis.openapi.from_url(f"{fresh_gateway.url}/openapi.json")
    failures = await asyncio.to_thread(fuzz, schema, fresh_gateway.url, headers)
    assert not failures, "\n\n".join(failures)
