"""The relay with real processes: a killed or frozen agent fails its streams in bounded time,
questions asked meanwhile are queued and answered when it returns; cancel; multiplexing."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
import openai

from tests.support.fixtures.gateways import (
    ChatUser,
    GatewayProcess,
    create_agent_token,
    frames_until,
    next_frame,
    sign_up,
    wait_online,
)

LONG_QUESTION = "Write a very long story about a dragon who learns to bake bread. Make it as long as you can."


async def _owner_and_token(gateway: GatewayProcess) -> tuple[ChatUser, str]:
    (owner,) = await sign_up(gateway, 1)
    return owner, await create_agent_token(owner)


async def _first_chunk(ws) -> dict:
    """The accepted frame, once the first chunk followed it (status news may come between: the
    gateway broadcasts the clone's state to every socket whenever it changes)."""
    accepted = await _next_answer_frame(ws)
    assert accepted["type"] == "accepted", accepted
    chunk = await _next_answer_frame(ws)
    assert chunk["type"] == "chunk", chunk
    return accepted


async def _next_answer_frame(ws) -> dict:
    while (frame := await next_frame(ws))["type"] == "status":
        pass
    return frame


async def test_killed_agent_fails_the_stream_then_answers_the_queue(
    fresh_gateway: GatewayProcess, own_agent, tmp_path
):
    owner, token = await _owner_and_token(fresh_gateway)
    home = tmp_path / "agent"
    agent = own_agent(fresh_gateway, token, max_tokens=2000, home=home)
    await wait_online(fresh_gateway)
    async with owner.socket() as ws:
        await ws.send(
            json.dumps({"type": "message", "conversation_id": None, "text": LONG_QUESTION, "client_id": "c1"})
        )
        accepted = await _first_chunk(ws)
        agent.stop(signal.SIGKILL)
        # the link's close fails the stream at once (bounded here; how fast is bench/network_paths' job)
        frames = await frames_until(ws, {"error"}, timeout=10)
        assert (
            frames[-1]["code"] == "agent_disconnected" and frames[-1]["request_id"] == accepted["request_id"]
        )
        if not any(f["type"] == "status" and f["agent_online"] is False for f in frames):
            offline = (await frames_until(ws, {"status"}))[-1]
            assert offline["agent_online"] is False and offline["network_mode"] == "offline"

        queued = (await owner.ask(ws, "Are you there?", accepted["conversation_id"]))[-1]
        assert queued["type"] == "queued" and queued["conversation_id"] == accepted["conversation_id"]
        assert queued["message"].startswith("The clone is offline right now")
        pending = (await owner.http.get(f"/api/conversations/{accepted['conversation_id']}")).json()[
            "messages"
        ]
        assert [m["status"] for m in pending] == ["done", "error", "done", "pending"]

        key = (await owner.http.post("/api/keys", json={"name": "k"})).json()["key"]
        client = openai.AsyncOpenAI(base_url=f"{fresh_gateway.url}/v1", api_key=key, max_retries=0)
        try:
            await client.chat.completions.create(
                model="my-clone", messages=[{"role": "user", "content": "hi"}]
            )
            raise AssertionError("expected 503")
        except openai.APIStatusError as exc:
            assert exc.status_code == 503 and exc.response.headers["Retry-After"] == "7"
            assert exc.body["code"] == "clone_offline"

        own_agent(fresh_gateway, token, max_tokens=24, home=home)  # the owner's PC comes back
        frames = await frames_until(ws, {"answer"}, timeout=60)
        answer = frames[-1]
        assert any(f["type"] == "status" and f["agent_online"] is True for f in frames)
        assert (
            answer["conversation_id"] == accepted["conversation_id"]
            and answer["message_id"] == queued["message_id"]
        )
        assert answer["content"]
    messages = (await owner.http.get(f"/api/conversations/{accepted['conversation_id']}")).json()["messages"]
    assert messages[-1] == {**messages[-1], "status": "done", "content": answer["content"]}
    metrics = (await owner.http.get("/metrics")).text
    assert "aiclone_gateway_queue_length 0.0" in metrics and "aiclone_gateway_linked_agents 1.0" in metrics
    await owner.close()


async def test_frozen_agent_is_dropped_by_the_heartbeat(fresh_gateway: GatewayProcess, own_agent):
    owner, token = await _owner_and_token(fresh_gateway)
    agent = own_agent(fresh_gateway, token, max_tokens=2000)
    await wait_online(fresh_gateway)
    async with owner.socket() as ws:
        await ws.send(json.dumps({"type": "message", "text": LONG_QUESTION}))
        await _first_chunk(ws)
        agent.proc.send_signal(signal.SIGSTOP)  # half-dead: the socket stays open, nothing answers
        try:
            # Only the heartbeat can notice: the frozen agent's socket stays open (no close, no RST).
            error = (await frames_until(ws, {"error"}, timeout=15))[-1]
            assert error["code"] == "agent_disconnected"
        finally:
            agent.proc.send_signal(signal.SIGCONT)
    await owner.close()


async def _aborted_generations(http: httpx.AsyncClient) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith('aiclone_generations_total{channel="web",finish_reason="abort"}'):
            return float(line.split()[-1])
    return 0.0


async def test_cancel_stops_the_answer_at_the_agent(users: list[ChatUser], linked_agent):
    user = users[0]
    async with httpx.AsyncClient(base_url=linked_agent.url) as agent_http:
        aborted_before = await _aborted_generations(agent_http)
        async with user.socket() as ws:
            await ws.send(json.dumps({"type": "message", "text": LONG_QUESTION}))
            accepted = await _first_chunk(ws)
            await ws.send(json.dumps({"type": "cancel", "request_id": accepted["request_id"]}))
            end = (await frames_until(ws, {"end"}, timeout=10))[-1]
            assert end["finish_reason"] == "cancelled" and end["message_id"] == accepted["message_id"]
        async with asyncio.timeout(10):  # the agent stopped generating, it did not run to max_tokens
            while await _aborted_generations(agent_http) < aborted_before + 1:
                await asyncio.sleep(0.05)
    stored = (await user.http.get(f"/api/conversations/{accepted['conversation_id']}")).json()["messages"][-1]
    assert stored["status"] == "done" and stored["content"]


async def test_many_requests_share_one_link(users: list[ChatUser], linked_agent, owner: ChatUser):
    key = (await users[0].http.post("/api/keys", json={"name": "k"})).json()["key"]
    client = openai.AsyncOpenAI(
        base_url=f"{users[0].gateway.url}/v1", api_key=key, max_retries=0, timeout=120
    )

    async def one(i: int) -> str:
        stream = await client.chat.completions.create(
            model="my-clone",
            messages=[{"role": "user", "content": f"Count to {i + 3}."}],
            max_tokens=6,
            stream=True,
            temperature=0,
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    async def ws_chat(user: ChatUser) -> list[dict]:
        async with user.socket() as ws:
            return await user.ask(ws, "Tell me a joke.", timeout=120)

    results = await asyncio.gather(*(one(i) for i in range(3)), *(ws_chat(u) for u in users))
    assert all(isinstance(r, str) and r for r in results[:3])
    assert all(r[-1]["type"] == "end" for r in results[3:])
    agents = (await owner.http.get("/api/agents")).json()
    assert sum(a["linked"] for a in agents) == 1
    metrics = {
        line.split()[0]: float(line.split()[1])
        for line in (await owner.http.get("/metrics")).text.splitlines()
        if line.startswith("aiclone_gateway_") and " " in line
    }
    assert metrics["aiclone_gateway_relayed_chunks_total"] >= 3 and metrics["aiclone_gateway_relay_in_flight"] == 0
    assert metrics["aiclone_gateway_linked_agents"] == 1 and 0 < metrics["aiclone_gateway_link_rtt_seconds"] < 1
