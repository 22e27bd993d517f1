"""The agent's requests by id across both paths: a retry under the same id replaces the first run."""

from __future__ import annotations

import asyncio

from aiclone_agent.gateway.requests import CreditWindow
from aiclone_agent.gateway.session import RunningRequests


async def test_a_retried_request_is_answered_once_by_its_newest_run() -> None:
    served: list[str] = []
    running = RunningRequests(on_request=served.append)
    answers: list[str] = []

    async def answer(path: str) -> None:
        await asyncio.sleep(0.2)
        answers.append(path)

    first = asyncio.create_task(answer("direct"))
    running.start("r1", first, CreditWindow(4), "direct")
    second_credit = CreditWindow(0)
    second = asyncio.create_task(answer("relay"))
    running.start("r1", second, second_credit, "relay")  # the gateway retried it on the relay
    await asyncio.gather(first, second, return_exceptions=True)
    assert first.cancelled()
    assert answers == ["relay"]
    assert served == ["direct", "relay"]


async def test_cancel_and_credit_reach_the_live_run() -> None:
    running = RunningRequests()
    credit = CreditWindow(0)
    task = asyncio.create_task(credit.take())
    running.start("r2", task, credit)
    running.grant("r2", 1)
    await asyncio.wait_for(task, 2)  # the credit let it go on
    blocked_credit = CreditWindow(0)
    blocked = asyncio.create_task(blocked_credit.take())
    running.start("r3", blocked, blocked_credit)
    running.cancel("r3")
    await asyncio.gather(blocked, return_exceptions=True)
    assert blocked.cancelled()
    running.cancel("unknown")  # an id it never saw: nothing happens
    running.grant("unknown", 3)
