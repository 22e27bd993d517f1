"""What every suite shares: the fixtures (plugins), the markers, the database matrix, and the guard
behind ``--quick``.

Markers (``--strict-markers`` refuses any other):
- ``process``: starts real server processes (agent, gateway, nginx, PostgreSQL/Redis clients of
  them). Set by hand on a module or test, and added here to every test that uses one of the
  process fixtures below. ``./scripts/test.sh --quick`` leaves these out.
- ``browser``: drives Chromium (today only the web UI's Playwright suite does, outside pytest).
- ``slow``: takes more than about 5 s by design (kill cycles, load smoke, fuzzing, building small
  models to convert adapters against). ``--quick`` leaves these out too.
- ``databases``: a test whose behaviour depends on the database; it runs on SQLite and PostgreSQL.
  Every other test that needs a gateway database runs on SQLite once.
"""

from __future__ import annotations

import pytest

# The shared fixtures, as plugins (tests/support/fixtures/): every suite sees them, and no test
# module imports another test module or a conftest to get them.
pytest_plugins = [
    "tests.support.fixtures.agents",
    "tests.support.fixtures.gateways",
    "tests.support.fixtures.paths",
    "tests.support.fixtures.lan",
    "tests.support.fixtures.telegram",
    "tests.support.fixtures.cluster",
    "tests.support.fixtures.replicas",
    "tests.support.fixtures.deploy",
]

DATABASES = ["sqlite", "postgresql"]
DATABASE_FIXTURES = {"database_url": "session", "fresh_database_url": "function"}
# Fixtures that start a process: a test using any of them is a ``process`` test.
PROCESS_FIXTURES = {
    "agent_process",
    "shared_agent_process",
    "gateway",
    "fresh_gateway",
    "own_agent",
    "linked_agent",
    "paths_gateway",
    "two_paths",
    "home_lan",
    "dialing_gateway",
    "stack",
    "shared_stack",
    "kill_stack",
    "link_gateway",
    "start_nginx",
    "database_url",
    "fresh_database_url",
}


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "process: starts real server processes (left out by ./scripts/test.sh --quick)",
        "browser: drives Chromium",
        "slow: takes more than about 5 s by design (kill cycles, load smoke, fuzzing, building models)",
        "databases: depends on the database: runs on SQLite and PostgreSQL (others on SQLite once)",
    ):
        config.addinivalue_line("markers", line)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The gateway's database fixtures take SQLite, and PostgreSQL too for ``databases`` tests."""
    kinds = DATABASES if metafunc.definition.get_closest_marker("databases") else DATABASES[:1]
    chosen = {  # a test that parametrizes the database itself keeps its choice
        name
        for mark in metafunc.definition.iter_markers("parametrize")
        for name in (mark.args[0].split(",") if isinstance(mark.args[0], str) else mark.args[0])
    }
    for name, scope in DATABASE_FIXTURES.items():
        if name in metafunc.fixturenames and name not in chosen:
            metafunc.parametrize(name, kinds, indirect=True, scope=scope)  # type: ignore[arg-type]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.process)
