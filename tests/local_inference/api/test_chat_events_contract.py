"""The admin's test chat contract: the web UI's stream event types are the agent's models.

``frontend/src/api/agentChatEvents.ts`` is generated from ``aiclone_agent.api.chat``; these tests fail
when the checked-in file and the models differ (the stream tests check every event they read against
the models too). The renderer itself is tested with the public chat's frames
(``tests/backend/chat/test_frames_contract.py``).
"""

from __future__ import annotations

from pydantic import TypeAdapter, create_model

from aiclone_agent.api import chat
from aiclone_agent.api.chat_typescript import TARGET, render


def test_the_checked_in_typescript_is_what_the_models_say():
    assert TARGET.read_text(encoding="utf-8") == render(), "run python scripts/typescript.py"


def test_a_renamed_event_field_fails_the_comparison():
    renamed = create_model("DeltaEvent", __config__=chat.DeltaEvent.model_config, text=(str, ...))
    events = TypeAdapter(chat.SourcesEvent | renamed | chat.DoneEvent | chat.StreamErrorEvent)
    drifted = render(events)
    assert drifted != TARGET.read_text(encoding="utf-8")
    assert "export interface DeltaEvent {\n  text: string\n}" in drifted
