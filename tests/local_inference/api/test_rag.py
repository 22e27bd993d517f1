"""``/api/rag`` over HTTP, and answers that use the uploaded documents and cite them."""

from __future__ import annotations

import json

from tests.local_inference.rag.documents import BUILDERS, EN_FACTS, RU_FACTS, text_bytes
from tests.support.documents_api import upload, wait_indexed
from tests.support.sse import parse_sse


async def test_upload_list_search_delete_round_trip(agent):
    client = agent.client
    created = await upload(client, "ceny.docx", BUILDERS["docx"](RU_FACTS))
    assert created["status"] == "queued" and created["name"] == "ceny.docx" and created["size"] > 0
    await upload(client, "studio.md", BUILDERS["md"](EN_FACTS))
    documents = await wait_indexed(client)
    assert [(d["name"], d["status"], d["progress"]) for d in documents] == [
        ("ceny.docx", "ready", 1.0), ("studio.md", "ready", 1.0)
    ]
    assert set(documents[0]) >= {"id", "name", "size", "chunks", "status", "progress", "error", "created_at", "visibility"}

    hits = (await client.get("/api/rag/search", params={"q": "Сколько дней идёт посылка в Новосибирск?", "k": 2})).json()
    assert len(hits) == 2
    assert hits[0]["document_name"] == "ceny.docx" and "шесть рабочих дней" in hits[0]["text"]
    assert set(hits[0]) == {"document_id", "document_name", "chunk_index", "text", "score", "start", "end", "visibility"}

    assert (await client.delete(f"/api/rag/documents/{created['id']}")).status_code == 204
    assert [d["name"] for d in (await client.get("/api/rag/documents")).json()] == ["studio.md"]
    hits = (await client.get("/api/rag/search", params={"q": "Новосибирск"})).json()
    assert all(hit["document_name"] == "studio.md" for hit in hits)
    missing = await client.delete(f"/api/rag/documents/{created['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "document_not_found"


async def test_reindex_rebuilds_every_document(agent):
    await upload(agent.client, "notes.txt", text_bytes(EN_FACTS))
    before = await wait_indexed(agent.client)
    response = await agent.client.post("/api/rag/reindex")
    assert response.status_code == 202
    assert response.json()[0]["status"] == "queued"
    after = await wait_indexed(agent.client)
    assert after[0]["status"] == "ready" and after[0]["chunks"] == before[0]["chunks"]


async def test_refused_uploads_use_the_one_error_shape(agent):
    empty = await agent.client.post("/api/rag/documents", files={"file": ("a.txt", b"")})
    assert empty.status_code == 400 and empty.json()["error"]["code"] == "empty_file"
    binary = await agent.client.post("/api/rag/documents", files={"file": ("a.pdf", bytes(range(256)) * 8)})
    assert binary.status_code == 415 and binary.json()["error"]["param"] == "file"
    no_file = await agent.client.post("/api/rag/documents", data={"x": "1"})
    assert no_file.status_code == 400 and "file" in no_file.json()["error"]["message"]
    too_big = await agent.client.post(
        "/api/rag/documents", content=b"x", headers={"content-length": str(51 * 1024 * 1024), "content-type": "text/plain"}
    )
    assert too_big.status_code == 413
    assert (await agent.client.get("/api/rag/documents")).json() == []


async def test_the_test_chat_answers_from_the_document_and_cites_it(agent, spy_prompts):
    document = await upload(agent.client, "lamps.pdf", BUILDERS["pdf"](EN_FACTS))
    await wait_indexed(agent.client)
    response = await agent.client.post("/api/chat/test", json={"message": "How long is the warranty on a ceramic lamp?"})
    assert response.status_code == 200
    body = response.json()
    assert "warranty of 36 months" in " ".join(spy_prompts[-1].split())  # the model was given the answer
    cited = body["sources"][0]
    assert cited["document_id"] == document["id"] and cited["document_name"] == "lamps.pdf"
    stored = agent.runtime.rag.store.read_text(document["id"])
    assert "36 months" in " ".join(stored[cited["start"] : cited["end"]].split())
    assert cited["text"] == stored[cited["start"] : cited["end"]]  # the passage a reader opens
    # Reopening the conversation later still shows what the answer cited.
    history = (await agent.client.get(f"/api/conversations/{body['conversation_id']}")).json()
    assert history["messages"][1]["sources"] == body["sources"]


async def test_russian_stream_sends_sources_before_the_first_token(agent, spy_prompts):
    document = await upload(agent.client, "vazy.txt", text_bytes(RU_FACTS))
    await wait_indexed(agent.client)
    response = await agent.client.post("/api/chat/stream", json={"message": "Какая гарантия на вазы ручной работы?"})
    events = parse_sse(response.text)
    assert "sources" in events[0] and not any("delta" in e for e in events[:1])
    assert events[0]["sources"][0]["document_id"] == document["id"]
    assert "гарантия 18 месяцев" in spy_prompts[-1]
    assert events[-1]["done"] is True


async def test_chat_without_documents_has_no_sources(agent):
    body = (await agent.client.post("/api/chat/test", json={"message": "hi"})).json()
    assert body["sources"] == []


async def test_openai_api_carries_sources_in_an_extra_field(agent, spy_prompts):
    # /v1 answers with the api profile, a public one: it reads only documents open to everyone
    document = await upload(agent.client, "studio.html", BUILDERS["html"](EN_FACTS), "public")
    await wait_indexed(agent.client)
    request = {"model": "my-clone", "messages": [{"role": "user", "content": "When is the Riverside studio open?"}]}
    whole = (await agent.client.post("/v1/chat/completions", json=request)).json()
    assert whole["sources"][0]["document_id"] == document["id"]
    assert "Tuesday to Saturday" in spy_prompts[-1]

    streamed = await agent.client.post("/v1/chat/completions", json={**request, "stream": True})
    chunks = [json.loads(block[6:]) for block in streamed.text.strip().split("\n\n") if block != "data: [DONE]"]
    assert chunks[0]["sources"][0]["document_id"] == document["id"]
    # and on the chunk with finish_reason (where the gateway, which learns them at the end, puts them)
    finishing = [i for i, chunk in enumerate(chunks) if chunk["choices"] and chunk["choices"][0]["finish_reason"]]
    assert len(finishing) == 1 and chunks[finishing[0]]["sources"] == chunks[0]["sources"]
    assert all("sources" not in chunk for i, chunk in enumerate(chunks[1:], 1) if i != finishing[0])
