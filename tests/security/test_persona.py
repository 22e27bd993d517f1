"""The admin's persona is checked against the model's context window (in-process agent app, real
tiny model and tokenizer).

Found before the fix: a 19,000-character persona with a 4096-token context was accepted, and
every chat after it answered 400 until someone noticed.
"""

from __future__ import annotations

import re


async def test_a_persona_longer_than_the_context_is_refused_with_a_token_count(agent):
    before = (await agent.client.get("/api/clone")).json()
    persona = ("You are a patient teacher who explains everything twice. " * 400)[:19_000]
    response = await agent.client.put("/api/clone", json={"system_prompt": persona})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "system_prompt_too_long" and error["param"] == "system_prompt"
    used, most = (int(n) for n in re.findall(r"is (\d+) tokens but at most (\d+) fit", error["message"])[0])
    assert used > most > 0
    # nothing was written, and the clone still answers
    assert (await agent.client.get("/api/clone")).json() == before
    assert persona not in agent.config_path.read_text()  # nothing of it reached the config file
    answer = await agent.client.post("/api/chat/test", json={"message": "Hello?"})
    assert answer.status_code == 200, answer.text


async def test_a_persona_that_leaves_room_is_accepted(agent):
    persona = "You are a patient teacher who explains everything twice."
    response = await agent.client.put("/api/clone", json={"system_prompt": persona})
    assert response.status_code == 200 and response.json()["system_prompt"] == persona
