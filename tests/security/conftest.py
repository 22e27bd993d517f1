"""The security suite runs against the same real processes as the gateway's and the agent's tests."""

from tests.backend.conftest import (  # noqa: F401 - shared fixtures
    database_url,
    fresh_database_url,
    fresh_gateway,
    gateway,
    linked_agent,
    own_agent,
    owner,
    shared_agent,
    users,
)
from tests.backend.relay.conftest import paths_gateway, two_paths  # noqa: F401
from tests.local_inference.conftest import agent, agent_process, engine, model_path  # noqa: F401
from tests.local_inference.lan.conftest import home_lan  # noqa: F401
