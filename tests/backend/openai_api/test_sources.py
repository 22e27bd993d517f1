"""The gateway's OpenAI API passes the agent's ``sources`` through: the passages an answer cites."""

from __future__ import annotations

import asyncio

import httpx
import openai

from tests.local_inference.rag.documents import EN_FACTS, text_bytes
from tests.support.fixtures.gateways import GatewayProcess, create_agent_token, sign_up, wait_online

QUESTION = [{"role": "user", "content": "How long is the warranty on a ceramic lamp?"}]


async def _index(agent_url: str) -> None:
    async with httpx.AsyncClient(base_url=agent_url, timeout=30) as http:
        created = await http.post(  # open to everyone: API keys read only such documents
            "/api/rag/documents",
            files={"file": ("lamps.txt", text_bytes(EN_FACTS))},
            data={"visibility": "public"},
        )
        assert created.status_code == 201, created.text
        for _ in range(600):
            documents = (await http.get("/api/rag/documents")).json()
            if all(d["status"] == "ready" for d in documents):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(documents)


async def test_sources_reach_openai_clients_through_the_gateway(fresh_gateway: GatewayProcess, own_agent):
    (owner,) = await sign_up(fresh_gateway, 1)
    agent = own_agent(fresh_gateway, await create_agent_token(owner), max_tokens=8)
    await _index(agent.url)
    await wait_online(fresh_gateway)
    key = (await owner.http.post("/api/keys", json={"name": "sources"})).json()["key"]
    await owner.close()
    direct = openai.AsyncOpenAI(base_url=f"{agent.url}/v1", api_key="local", max_retries=0, timeout=120)
    relayed = openai.AsyncOpenAI(base_url=f"{fresh_gateway.url}/v1", api_key=key, max_retries=0, timeout=120)

    own = (await direct.chat.completions.create(model="my-clone", messages=QUESTION)).to_dict()["sources"]
    assert own and own[0]["document_name"] == "lamps.txt" and "ceramic" in own[0]["text"].lower()

    whole = (await relayed.chat.completions.create(model="my-clone", messages=QUESTION)).to_dict()
    assert whole["sources"] == own

    stream = await relayed.chat.completions.create(model="my-clone", messages=QUESTION, stream=True)
    chunks = [chunk.to_dict() async for chunk in stream]
    finishing = [c for c in chunks if c["choices"] and c["choices"][0].get("finish_reason")]
    assert len(finishing) == 1 and finishing[0]["sources"] == own
    # the agent's own stream carries them on its last chunk too, so a client reads one place on both
    own_stream = await direct.chat.completions.create(model="my-clone", messages=QUESTION, stream=True)
    own_chunks = [chunk.to_dict() async for chunk in own_stream]
    own_finishing = [c for c in own_chunks if c["choices"] and c["choices"][0].get("finish_reason")]
    assert own_finishing[0]["sources"] == own
