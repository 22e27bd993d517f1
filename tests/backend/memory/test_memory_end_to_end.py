"""Long-term memory over a real gateway and a real agent (issue 24): two persons never see each
other's memories on the web chat or the API, a deletion through the gateway reaches the agent's
store, and a deleted account's memories are erased on the agent even when it was offline then."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.support.fixtures.agents import AgentProcess, write_config
from tests.support.fixtures.gateways import (
    ChatUser,
    GatewayProcess,
    create_agent_token,
    sign_up,
    wait_online,
)

pytestmark = pytest.mark.process
FACT = "Remember that my dog is called Rexford"
QUESTION = "What is my dog called, the one called Rexford?"


def start_agent(home: Path, model_path: Path, gateway: GatewayProcess, token: str) -> AgentProcess:
    """An agent with memory on for the API too (the api profile's default is off)."""
    home.mkdir(exist_ok=True)
    config = write_config(
        home / "config.yaml",
        model={"base_model_path": str(model_path), "max_tokens": 8, "n_threads": 1},
        gateway={"url": gateway.ws_url, "agent_token": token},
        channels={"api": {"memory": "on"}},
    )
    return AgentProcess(home, model_path, config_path=config).start()


@pytest.fixture(scope="module")
def memory_stack_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    home = tmp_path_factory.mktemp("memory-stack")
    process = GatewayProcess(home, f"sqlite+aiosqlite:///{home / 'gateway.sqlite3'}").start()
    yield process
    process.stop()


class Stack:
    """The gateway's owner and its agent, which a test may stop and ``restart`` on its own data."""

    def __init__(self, gateway: GatewayProcess, owner: ChatUser, token: str, home: Path, model: Path) -> None:
        self.gateway, self.owner, self.token, self.home, self.model = gateway, owner, token, home, model
        self.agent = start_agent(home, model, gateway, token)

    def restart(self) -> AgentProcess:
        self.agent.stop()
        self.agent = start_agent(self.home, self.model, self.gateway, self.token)
        return self.agent


@pytest.fixture(scope="module")
async def memory_stack(
    memory_stack_gateway: GatewayProcess, tmp_path_factory: pytest.TempPathFactory, model_path: Path
) -> AsyncIterator[Stack]:
    (owner,) = await sign_up(memory_stack_gateway, 1)
    token = await create_agent_token(owner)
    linked = Stack(memory_stack_gateway, owner, token, tmp_path_factory.mktemp("memory-agent"), model_path)
    await wait_online(memory_stack_gateway)
    yield linked
    linked.agent.stop()
    await owner.close()


async def user_id(user: ChatUser) -> str:
    return (await user.http.get("/api/users/me")).json()["id"]


async def my_memories(user: ChatUser, query: str | None = None) -> list[dict]:
    response = await user.http.get("/api/me/memories", params={"q": query} if query else None)
    assert response.status_code == 200, response.text
    return response.json()["memories"]


async def agent_memories(agent: AgentProcess, person: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=agent.url, timeout=30) as http:
        response = await http.get("/api/memories", params={"person": person})
        assert response.status_code == 200, response.text
        return response.json()["memories"]


async def until(condition, what: str, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.1)


async def web_turn(user: ChatUser, text: str) -> dict:
    """One question in a new conversation on the web chat; its end frame."""
    async with user.socket() as ws:
        frames = await user.ask(ws, text)
    assert frames[-1]["type"] == "end", frames[-1]
    return frames[-1]


async def test_two_persons_never_see_each_others_memories_on_web_and_api(
    memory_stack_gateway: GatewayProcess, memory_stack: Stack
):
    agent = memory_stack.agent
    alice, bob = await sign_up(memory_stack_gateway, 2)
    keys = [(await u.http.post("/api/keys", json={"name": "m"})).json()["key"] for u in (alice, bob)]
    api = [
        openai.AsyncOpenAI(base_url=f"{memory_stack_gateway.url}/v1", api_key=key, max_retries=0, timeout=120)
        for key in keys
    ]
    await web_turn(alice, FACT)
    await api[0].chat.completions.create(
        model="my-clone", messages=[{"role": "user", "content": "Remember that my cat is called Whiskerton"}]
    )
    await until(lambda: _count(my_memories(alice), 2), "alice's two rounds kept")
    alice_ids = {m["id"] for m in await my_memories(alice)}
    assert {m["channel"] for m in await my_memories(alice)} == {"web", "api"}

    # Bob asks about exactly those facts, on both channels: nothing of Alice's is recalled for him
    bob_web = await web_turn(bob, QUESTION)
    bob_api = (
        await api[1].chat.completions.create(
            model="my-clone", messages=[{"role": "user", "content": "What is my cat Whiskerton called?"}]
        )
    ).to_dict()
    stream = await api[1].chat.completions.create(
        model="my-clone", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    bob_chunks = [chunk.to_dict() async for chunk in stream]
    recalled_for_bob = [
        *bob_web["memories"],
        *bob_api["memories"],
        *(m for c in bob_chunks for m in c.get("memories", [])),
    ]
    assert not {m["id"] for m in recalled_for_bob} & alice_ids
    assert not any("Rexford" in m["text"] or "Whiskerton" in m["text"] for m in recalled_for_bob)
    await until(lambda: _count(my_memories(bob), 3), "bob's three rounds kept")
    bob_memories = await my_memories(bob)
    assert not {m["id"] for m in bob_memories} & alice_ids
    assert all("Remember that" not in m["text"] for m in bob_memories)

    # Alice, in a new conversation, is given her own round (and the agent keeps it as hers)
    alice_web = await web_turn(alice, QUESTION)
    assert {m["id"] for m in alice_web["memories"]} <= alice_ids | {m["id"] for m in await my_memories(alice)}
    assert any("Rexford" in m["text"] for m in alice_web["memories"])
    stored = await agent_memories(agent, f"user:{await user_id(alice)}")
    assert alice_ids <= {m["id"] for m in stored}
    for user in (alice, bob):
        await user.close()


async def _count(memories, at_least: int) -> bool:
    return len(await memories) >= at_least


async def test_deleting_through_the_gateway_erases_on_the_agent(
    memory_stack_gateway: GatewayProcess, memory_stack: Stack
):
    agent = memory_stack.agent
    (carol,) = await sign_up(memory_stack_gateway, 1)
    person = f"user:{await user_id(carol)}"
    await web_turn(carol, FACT)
    await web_turn(carol, "Remember that I live in Tallinn")
    await until(lambda: _count(agent_memories(agent, person), 2), "carol's rounds kept")
    first, *rest = await my_memories(carol)

    assert (await carol.http.delete(f"/api/me/memories/{first['id']}")).status_code == 204
    assert first["id"] not in {m["id"] for m in await agent_memories(agent, person)}
    again = await carol.http.delete(f"/api/me/memories/{first['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "memory_not_found"

    assert (await carol.http.delete("/api/me/memories")).json() == {"deleted": len(rest)}
    assert await agent_memories(agent, person) == []

    assert (await carol.http.put("/api/me/memory-settings", json={"enabled": False})).json() == {
        "enabled": False
    }
    await web_turn(carol, "Remember that my car is red")
    assert (await carol.http.get("/api/me/memories")).json() == {"memories": [], "enabled": False}
    await carol.close()


async def test_a_deleted_account_is_erased_on_the_agent_when_it_comes_back(
    memory_stack_gateway: GatewayProcess, memory_stack: Stack
):
    owner, agent = memory_stack.owner, memory_stack.agent
    (dave,) = await sign_up(memory_stack_gateway, 1)
    person = f"user:{await user_id(dave)}"
    await web_turn(dave, FACT)
    await until(lambda: _count(agent_memories(agent, person), 1), "dave's round kept")

    agent.stop(signal.SIGTERM)  # the owner's PC is off when the account is deleted
    await wait_online(memory_stack_gateway, online=False)
    assert (await owner.http.delete(f"/api/admin/users/{person[5:]}")).status_code == 204
    offline = await owner.http.get("/api/me/memories")
    assert offline.status_code == 503 and offline.json()["error"]["code"] == "agent_offline"

    back = memory_stack.restart()
    await wait_online(memory_stack_gateway)

    async def erased() -> bool:
        return await agent_memories(back, person) == []

    await until(erased, "the erasure delivered on relink")
    (eve,) = await sign_up(memory_stack_gateway, 1)  # the stack still works for others
    assert (await eve.http.get("/api/me/memories")).json()["memories"] == []
    await eve.close()
