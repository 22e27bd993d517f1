"""The gateway's users through a real nginx with TLS, as on the VDS: the agent links over wss
through nginx, the public chat talks over the WebSocket, the official ``openai`` client streams,
Telegram's webhook path reaches the gateway, and no client escapes the rate limit by sending its
own X-Forwarded-For."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.fixtures.agents import AgentProcess, write_config
from tests.support.fixtures.deploy import START_TIMEOUT_S, SelfSignedTls
from tests.support.fixtures.gateways import ChatUser, GatewayProcess, create_agent_token, wait_online
from tests.support.nginx import refresh_attempts


@pytest.fixture
async def stack(tmp_path: Path, start_nginx, tls: SelfSignedTls, model_path: Path, monkeypatch):
    # This test process and the agent trust the throwaway CA (as a real VDS's clients trust
    # Let's Encrypt); nothing here turns certificate checks off.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca))
    gateway = GatewayProcess(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", auth_rate_limit=4
    ).start(timeout=START_TIMEOUT_S)
    nginx = start_nginx([f"127.0.0.1:{gateway.port}"])
    owner = ChatUser(nginx, "owner@example.test")
    owner.http = httpx.AsyncClient(base_url=nginx.url, verify=tls.client_context(), timeout=60)
    assert (await owner.register())["role"] == "owner"
    await owner.login()
    home = tmp_path / "agent"
    home.mkdir()
    config = write_config(
        home / "config.yaml",
        model={"base_model_path": str(model_path), "max_tokens": 12, "n_threads": 1},
        gateway={"url": nginx.ws_url, "agent_token": await create_agent_token(owner)},
    )
    agent = AgentProcess(home, model_path, config_path=config)
    agent.env["SSL_CERT_FILE"] = str(tls.ca)
    agent.start(timeout=START_TIMEOUT_S)
    try:
        await wait_online(gateway)
        yield gateway, nginx, owner, agent
    finally:
        await owner.close()
        agent.stop()
        gateway.stop()


async def test_chat_openai_stream_and_webhook_through_nginx_with_tls(stack, tls: SelfSignedTls):
    _, nginx, owner, agent = stack

    async with owner.socket() as ws:  # wss://, the Origin the gateway allows, a ticket
        frames = await owner.ask(ws, "Say hello.")
    kinds = [frame["type"] for frame in frames]
    assert kinds[-1] == "end", frames
    assert "".join(f["delta"] for f in frames if f["type"] == "chunk").strip()

    # the SSE fallback streams through nginx too, frame by frame
    events = []
    async with owner.http.stream(
        "POST", "/api/chat/stream", json={"text": "Say hi.", "client_id": uuid.uuid4().hex}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    assert [e["type"] for e in events][-1] == "end" and any(e["type"] == "chunk" for e in events)

    key = (await owner.http.post("/api/keys", json={"name": "through nginx"})).json()["key"]
    async with httpx.AsyncClient(verify=tls.client_context(), timeout=120) as http:
        client = openai.AsyncOpenAI(base_url=f"{nginx.url}/v1", api_key=key, http_client=http, max_retries=0)
        stream = await client.chat.completions.create(
            model="my-clone",
            messages=[{"role": "user", "content": "Name a fruit."}],
            max_tokens=8,
            stream=True,
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(choice.delta.content or "" for chunk in chunks for choice in chunk.choices)
    assert text.strip() and len(chunks) > 2  # streamed piece by piece, not one buffered blob
    assert chunks[-1].choices == [] or chunks[-1].choices[0].finish_reason in ("stop", "length")

    # Telegram's webhook location reaches the gateway, which checks the secret itself...
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}}}
    refused = await owner.http.post(
        "/telegram/webhook/123",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": "wrong", "Authorization": ""},
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    # ...and nginx stops a body no Telegram update comes near before it reaches the gateway
    huge = await owner.http.post(
        "/telegram/webhook/123", content=b"x" * 1_200_000, headers={"Content-Type": "application/json"}
    )
    assert huge.status_code == 413

    # the agent's link came in through nginx (wss): nginx logs a WebSocket when it closes
    agent.stop()
    assert 'GET /agent/ws HTTP/1.1" 101' in (nginx.home / "access.log").read_text()


async def test_a_spoofed_forwarded_for_does_not_escape_the_rate_limit_through_nginx(
    stack, tls: SelfSignedTls
):
    gateway, nginx, _, _ = stack  # its sign-in limit: 4 per client per minute
    # nginx overwrites the header with the address it saw: every attempt is the same client
    assert await refresh_attempts(nginx.url, 6, verify=tls.client_context()) == [401] * 4 + [429] * 2
    # Control: the gateway does believe X-Forwarded-For from its trusted proxy (loopback, where
    # nginx runs), which is exactly why nginx must not pass the client's own value along.
    assert await refresh_attempts(gateway.url, 6, verify=tls.client_context()) == [401] * 6
