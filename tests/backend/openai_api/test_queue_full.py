"""A flooded clone refuses cleanly through the gateway too: 503 with the agent's Retry-After."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from tests.support.fixtures.gateways import GatewayProcess, create_agent_token, sign_up, wait_online

ESSAY = [{"role": "user", "content": "Write a very long essay about the history of bridges."}]


async def _read_all(client: openai.AsyncOpenAI) -> str:
    stream = await client.chat.completions.create(
        model="my-clone", messages=ESSAY, max_tokens=1500, stream=True
    )
    parts = [choice.delta.content or "" async for chunk in stream for choice in chunk.choices]
    return "".join(parts)


async def _wait_engine(agent_url: str, running: int, waiting: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=agent_url) as http:
        while True:
            engine = (await http.get("/api/status")).json()["engine"]
            if engine["running"] == running and engine["waiting"] == waiting:
                return
            assert time.monotonic() < deadline, engine
            await asyncio.sleep(0.1)


async def test_full_agent_queue_is_503_with_retry_after_on_the_gateway(
    fresh_gateway: GatewayProcess, own_agent
):
    (owner,) = await sign_up(fresh_gateway, 1)
    token = await create_agent_token(owner)
    # one slot and room for one waiting request
    agent = own_agent(
        fresh_gateway, token, max_tokens=1500, model={"parallel": 1, "max_queue": 1, "temperature": 0.7}
    )
    await wait_online(fresh_gateway)
    key = (await owner.http.post("/api/keys", json={"name": "flood"})).json()["key"]
    client = openai.AsyncOpenAI(base_url=f"{fresh_gateway.url}/v1", api_key=key, max_retries=0, timeout=120)
    # the gateway answers a stream's headers at its first token, so these two run in the background
    running = asyncio.create_task(_read_all(client))
    await _wait_engine(agent.url, running=1, waiting=0)
    waiting = asyncio.create_task(_read_all(client))
    try:
        await _wait_engine(agent.url, running=1, waiting=1)
        for stream in (False, True):  # refused before the first byte either way, never a hang
            with pytest.raises(openai.APIStatusError) as refused:
                await client.chat.completions.create(
                    model="my-clone", messages=ESSAY, max_tokens=5, stream=stream
                )
            error = refused.value
            assert error.status_code == 503
            assert int(error.response.headers["retry-after"]) >= 1
            assert error.body["code"] == "engine_busy" and "busy" in error.body["message"]
    finally:
        for task in (running, waiting):
            task.cancel()
        await asyncio.gather(running, waiting, return_exceptions=True)
        await owner.close()
    # the flood is over (the cancelled streams free their slot): the clone answers again
    await _wait_engine(agent.url, running=0, waiting=0)
    answer = await client.chat.completions.create(model="my-clone", messages=ESSAY, max_tokens=4)
    assert answer.choices[0].message.content
