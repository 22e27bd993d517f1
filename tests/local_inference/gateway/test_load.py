"""What the agent tells its gateway about its load and what it serves (``agent_load``): the
engine's numbers, and a fingerprint that changes with the persona and the documents."""

from __future__ import annotations

from aiclone_agent.gateway.load import changed


async def test_the_report_carries_the_engines_numbers_and_a_fingerprint_that_follows_the_persona(agent):
    load = agent.app.state.runtime.gateway.load
    first = load.report()
    engine = agent.app.state.runtime.engine.stats() or {}
    assert first.parallel == engine.get("parallel", first.parallel) >= 1
    assert first.running == 0 and first.waiting == 0 and first.tokens_per_s >= 0
    models = (await agent.client.get("/v1/models")).json()["data"]
    assert first.fingerprint.model == models[-1]["id"] and first.fingerprint.adapter == ""
    assert not changed(first, load.report())  # nothing new: nothing to send

    response = await agent.client.put(
        "/api/clone", json={"system_prompt": "You are a pirate. Answer briefly."}
    )
    assert response.status_code == 200, response.text
    after_persona = load.report()
    assert after_persona.fingerprint.persona != first.fingerprint.persona and changed(first, after_persona)

    uploaded = await agent.client.post(
        "/api/rag/documents", files={"file": ("facts.txt", b"The sky is green.")}
    )
    assert uploaded.status_code in (200, 201, 202), uploaded.text
    after_document = load.report()
    assert after_document.fingerprint.documents != after_persona.fingerprint.documents
    assert after_document.fingerprint.persona == after_persona.fingerprint.persona
