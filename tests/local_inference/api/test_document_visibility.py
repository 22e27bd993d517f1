"""Documents are the owner's unless opened to everyone: a public asker (the web chat relayed by the
gateway, Telegram, an API key, the family on the LAN) is never given, nor cited, a passage of an
owner-only document; the owner's own test chat is. Asserted on the prompt the real engine received
and on the sources each channel's answer carries."""

from __future__ import annotations

from aiclone_agent.engine.base import SamplingParams
from aiclone_agent.gateway.requests import CreditWindow, run_request
from aiclone_wire import End, Request
from tests.support.documents_api import upload, wait_indexed

DIARY = [
    "Private diary. The spare key to the blue cottage hides under the third flowerpot by the gate.",
    "Private diary. The alarm code for the blue cottage is 4417, changed every spring.",
]
SHOP = [
    "Shop notes. The blue cottage bakery sells rye bread and cinnamon rolls on weekends.",
    "Shop notes. The blue cottage bakery opens at eight in the morning.",
]
QUESTION = "Where is the spare key to the blue cottage, and what does the bakery sell?"
SECRET = "third flowerpot"


def _text(paragraphs: list[str]) -> bytes:
    return "\n\n".join(paragraphs).encode()


async def _public_answers(agent, spy_prompts) -> dict[str, tuple[str, list[dict]]]:
    """Each public channel's (prompt, sources) for ``QUESTION``."""
    answers: dict[str, tuple[str, list[dict]]] = {}
    body = {"model": "my-clone", "messages": [{"role": "user", "content": QUESTION}], "max_tokens": 2}
    for channel in ("web", "api"):  # relayed by the gateway: its public chat, its API keys
        frames: list = []
        await run_request(
            agent.runtime.openai,
            Request(id=f"r-{channel}", body={**body, "stream": True}, channel=channel),
            CreditWindow(64),
            frames.append,
        )
        assert isinstance(frames[-1], End), frames[-1]
        answers[channel] = (spy_prompts[-1], frames[-1].sources)
    local = (await agent.client.post("/v1/chat/completions", json=body)).json()  # the agent's own /v1
    answers["openai"] = (spy_prompts[-1], local.get("sources", []))
    for channel in ("telegram", "lan"):
        _, generation = await agent.runtime.chat.start_conversation_turn(
            QUESTION, None, SamplingParams(max_tokens=2), channel
        )
        async for _ in generation.chunks():
            pass
        answers[channel] = (spy_prompts[-1], generation.sources)
    return answers


async def test_public_askers_never_get_an_owner_only_passage_and_the_owner_does(agent, spy_prompts):
    diary = await upload(agent.client, "diary.txt", _text(DIARY))  # no choice sent: owner only
    shop = await upload(agent.client, "shop.txt", _text(SHOP), "public")
    assert (diary["visibility"], shop["visibility"]) == ("owner", "public")
    await wait_indexed(agent.client)

    for channel, (prompt, sources) in (await _public_answers(agent, spy_prompts)).items():
        assert SECRET not in " ".join(prompt.split()), channel  # never given to the model
        cited = {s["document_id"] for s in sources}
        assert diary["id"] not in cited, channel  # never cited, its passage never sent
        assert shop["id"] in cited, channel  # what is open to everyone still is
        assert all(SECRET not in s["text"] for s in sources), channel

    owner = (await agent.client.post("/api/chat/test", json={"message": QUESTION, "max_tokens": 2})).json()
    assert SECRET in " ".join(spy_prompts[-1].split())
    assert diary["id"] in {s["document_id"] for s in owner["sources"]}


async def test_opening_a_document_to_everyone_takes_effect_with_the_next_question(agent, spy_prompts):
    diary = await upload(agent.client, "diary.txt", _text(DIARY))
    await wait_indexed(agent.client)
    changed = await agent.client.patch(f"/api/rag/documents/{diary['id']}", json={"visibility": "public"})
    assert changed.status_code == 200 and changed.json()["visibility"] == "public"
    assert (await agent.client.get(f"/api/rag/documents/{diary['id']}")).json()["visibility"] == "public"
    prompt, sources = (await _public_answers(agent, spy_prompts))["web"]
    assert SECRET in " ".join(prompt.split()) and sources[0]["document_id"] == diary["id"]

    back = await agent.client.patch(f"/api/rag/documents/{diary['id']}", json={"visibility": "owner"})
    assert back.json()["visibility"] == "owner"
    prompt, sources = (await _public_answers(agent, spy_prompts))["telegram"]
    assert SECRET not in " ".join(prompt.split()) and sources == []


async def test_visibility_refuses_unknown_values_and_documents(agent):
    bad_upload = await agent.client.post(
        "/api/rag/documents", files={"file": ("a.txt", b"hello")}, data={"visibility": "friends"}
    )
    assert bad_upload.status_code == 400 and bad_upload.json()["error"]["param"] == "visibility"
    document = await upload(agent.client, "a.txt", b"hello there")
    bad = await agent.client.patch(f"/api/rag/documents/{document['id']}", json={"visibility": "all"})
    assert bad.status_code == 400
    missing = await agent.client.patch("/api/rag/documents/nope", json={"visibility": "public"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "document_not_found"
    assert (await agent.client.get("/api/rag/documents")).json()[0]["visibility"] == "owner"
