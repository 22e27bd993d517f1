"""Nothing the agent's runtime holds is typed Optional (it is always there), and the runtime is
frozen: it is complete when ``build_runtime`` returns. (That no collaborator is set on an object
after construction is checked for both programs in tests/security/test_runtime_wiring.py.)"""

from __future__ import annotations

import dataclasses

from aiclone_agent.runtime import AgentRuntime


def test_nothing_the_runtime_holds_is_optional():
    optional = [f.name for f in dataclasses.fields(AgentRuntime) if "None" in str(f.type)]
    assert optional == []
    assert AgentRuntime.__dataclass_params__.frozen
