"""A persona per channel: the owner's test chat, the public web chat (relayed by the gateway),
Telegram and API keys each get their own prompt addition, answer length and knowledge scope;
asserted on the prompt the real engine received."""

from __future__ import annotations

import yaml

from aiclone_agent.engine.base import SamplingParams
from aiclone_agent.gateway.requests import CreditWindow, run_request
from aiclone_wire import End, Request
from tests.local_inference.rag.documents import EN_FACTS, text_bytes
from tests.support.documents_api import upload, wait_indexed

PROFILES = {
    "owner": {"system_prompt_extra": "OWNER-MODE: you talk to your own creator.", "adapter_scale": 0.5},
    "web": {"system_prompt_extra": "WEB-MODE: strangers from the internet.", "max_tokens": 3},
    "telegram": {"system_prompt_extra": "TELEGRAM-MODE: keep it chatty.", "adapter_scale": 2.0},
    "api": {"system_prompt_extra": "API-MODE: answer in JSON-friendly plain text.", "knowledge": "none"},
}
MARKERS = {name: profile["system_prompt_extra"].split(":")[0] for name, profile in PROFILES.items()}


def _only(prompts, channel: str) -> None:
    """The last prompt carries this channel's addition alone, and its adapter scale went along."""
    prompt = prompts[-1]
    assert MARKERS[channel] in prompt, (channel, prompt)
    assert prompts.params[-1].adapter_scale == PROFILES[channel].get("adapter_scale"), channel
    others = [m for name, m in MARKERS.items() if name != channel and m in prompt]
    assert others == [], (channel, others)


async def test_profiles_round_trip_and_refuse_bad_values(agent):
    got = (await agent.client.get("/api/channels")).json()
    assert set(got) == {"owner", "web", "telegram", "api"}
    assert got["web"] == {
        "system_prompt_extra": "",
        "max_tokens": None,
        "adapter_scale": None,
        "knowledge": "all",
        "documents": [],
        "memory": "on",
    }
    assert got["api"]["memory"] == "off"  # the API is stateless by convention
    assert (await agent.client.put("/api/channels", json=got)).json() == got
    changed = (await agent.client.put("/api/channels", json={"web": PROFILES["web"]})).json()
    assert changed["web"]["max_tokens"] == 3 and changed["owner"] == got["owner"]
    api = (await agent.client.put("/api/channels", json={"api": PROFILES["api"]})).json()["api"]
    assert api["memory"] == "off"  # a profile that does not name it keeps the channel's default
    assert yaml.safe_load(agent.config_path.read_text())["channels"]["web"]["system_prompt_extra"].startswith(
        "WEB"
    )
    original = agent.config_path.read_bytes()
    for bad in (
        {"web": {"max_tokens": 0}},
        {"web": {"adapter_scale": -0.5}},
        {"web": {"adapter_scale": 4.5}},
        {"web": {"knowledge": "some"}},
        {"web": {"memory": "maybe"}},
        {"fax": {}},
        {"web": {"colour": 1}},
    ):
        response = await agent.client.put("/api/channels", json=bad)
        assert response.status_code == 400, bad
    assert agent.config_path.read_bytes() == original


async def test_each_channel_answers_with_its_own_profile(agent, spy_prompts):
    assert (await agent.client.put("/api/channels", json=PROFILES)).status_code == 200
    # open to everyone: the public channels may cite it (owner-only ones: test_document_visibility)
    document = await upload(agent.client, "lamps.txt", text_bytes(EN_FACTS), "public")
    await wait_indexed(agent.client)
    question = "How long is the warranty on a ceramic lamp?"

    # owner: the admin's test chat; it may cite the knowledge base
    owner = (await agent.client.post("/api/chat/test", json={"message": question})).json()
    _only(spy_prompts, "owner")
    assert owner["sources"] and owner["sources"][0]["document_id"] == document["id"]

    # api: an OpenAI client with an API key (through the gateway or directly); no knowledge here
    body = {"model": "my-clone", "messages": [{"role": "user", "content": question}]}
    api = (await agent.client.post("/v1/chat/completions", json=body)).json()
    _only(spy_prompts, "api")
    assert "36 months" not in " ".join(spy_prompts[-1].split()) and not api.get("sources")

    # web: the public chat, relayed by the gateway; answers are capped at 3 tokens
    frames: list = []
    await run_request(
        agent.runtime.openai,
        Request(id="r1", body={**body, "stream": True}, channel="web"),
        CreditWindow(64),
        frames.append,
    )
    _only(spy_prompts, "web")
    end = frames[-1]
    assert isinstance(end, End) and end.usage.completion_tokens <= 3
    assert end.sources and end.sources[0]["text"]  # the web chat can open the cited passage

    # telegram
    chat = agent.runtime.chat
    _, generation = await chat.start_conversation_turn(
        question, None, SamplingParams(max_tokens=4), "telegram"
    )
    async for _ in generation.chunks():
        pass
    _only(spy_prompts, "telegram")


async def test_selected_documents_limit_what_a_channel_may_cite(agent, spy_prompts):
    wanted = await upload(agent.client, "lamps.txt", text_bytes(EN_FACTS))
    await upload(agent.client, "other.txt", text_bytes([p.replace("lamp", "vase") for p in EN_FACTS]))
    await wait_indexed(agent.client)
    profile = {"knowledge": "selected", "documents": [wanted["id"]]}
    assert (await agent.client.put("/api/channels", json={"owner": profile})).status_code == 200
    answer = (
        await agent.client.post("/api/chat/test", json={"message": "warranty on a ceramic lamp or vase?"})
    ).json()
    assert answer["sources"] and {s["document_id"] for s in answer["sources"]} == {wanted["id"]}
    assert "other.txt" not in spy_prompts[-1]


async def test_the_test_chat_previews_another_channels_persona(agent, spy_prompts):
    """The owner asks as the web chat would be answered (its prompt addition and length cap); the
    request is still the owner's."""
    assert (await agent.client.put("/api/channels", json=PROFILES)).status_code == 200
    preview = await agent.client.post("/api/chat/test", json={"message": "Hello there", "channel": "web"})
    assert preview.status_code == 200, preview.text
    _only(spy_prompts, "web")
    assert preview.json()["usage"]["completion_tokens"] <= 3  # the web profile's max_tokens
    plain = await agent.client.post("/api/chat/test", json={"message": "Hello there"})
    assert plain.status_code == 200
    _only(spy_prompts, "owner")
    bad = await agent.client.post("/api/chat/test", json={"message": "Hello", "channel": "fax"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "channel"
