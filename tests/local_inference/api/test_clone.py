"""The persona API: edits persist to config.yaml and reach the model on the next answer."""

from __future__ import annotations

import yaml


async def test_get_clone_returns_persona_from_config(agent):
    response = await agent.client.get("/api/clone")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "name", "system_prompt"}
    assert body["id"] == "my-clone"


async def test_put_clone_persists_and_next_answer_uses_new_prompt(agent, spy_prompts):
    prompt = "You are Captain Nemo of the Nautilus. Mention the sea in every answer."
    response = await agent.client.put("/api/clone", json={"name": "Nemo", "system_prompt": prompt})
    assert response.status_code == 200
    assert response.json()["name"] == "Nemo"

    saved = yaml.safe_load(agent.config_path.read_text())
    assert saved["clone"]["system_prompt"] == prompt
    assert saved["clone"]["name"] == "Nemo"

    answer = await agent.client.post("/api/chat/test", json={"message": "Who are you?"})
    assert answer.status_code == 200
    assert len(spy_prompts) == 1
    given = spy_prompts[0]
    assert prompt in given
    assert given.index(prompt) < given.index("Who are you?")
    assert "<|im_start|>system" in given  # rendered with the GGUF's own ChatML template


async def test_put_clone_partial_update_keeps_other_fields(agent):
    before = (await agent.client.get("/api/clone")).json()
    response = await agent.client.put("/api/clone", json={"name": "Renamed"})
    assert response.json() == {**before, "name": "Renamed"}


async def test_invalid_clone_update_is_refused_and_changes_nothing(agent):
    original = agent.config_path.read_bytes()
    for body in ({"name": ""}, {"name": "   "}, {"system_prompt": "x" * 20_001}, {"colour": "red"}, ["name"]):
        response = await agent.client.put("/api/clone", json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["message"]
    assert agent.config_path.read_bytes() == original
    assert (await agent.client.get("/api/clone")).json()["name"] == "My Clone"
