"""Relay and direct paths between a real gateway and a real agent, with a TCP proxy the test
controls in front of each path (cut, blackhole, added latency): the mode both sides report,
failover of requests that had not started streaming, explicit errors for streams cut mid-way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import openai
import pytest

from tests.support.fixtures.gateways import METRICS_HEADERS
from tests.support.fixtures.paths import TwoPaths


@pytest.fixture
async def hybrid(two_paths: TwoPaths) -> AsyncIterator[TwoPaths]:
    """Both paths healthy at the start (and again at the end, for the next test)."""
    two_paths.relay.restore()
    two_paths.direct.restore()
    await two_paths.wait_mode("hybrid", timeout=30)
    yield two_paths
    two_paths.relay.restore()
    two_paths.direct.restore()


async def test_both_sides_report_hybrid_with_both_paths_measured(hybrid: TwoPaths):
    for side in ("gateway", "agent"):
        await hybrid.wait_mode("hybrid", side=side)
        status = await hybrid.status(side)
        assert status["paths"]["relay"]["up"] and status["paths"]["direct"]["up"], status
        assert status["paths"]["direct"]["since"] is not None
    # a few probes answered on each path
    await _until_gateway(hybrid, lambda paths: paths["relay"]["rtt_ms"] > 0 and paths["direct"]["rtt_ms"] > 0)
    assert (await hybrid.ask()).strip()
    async with httpx.AsyncClient(base_url=hybrid.gateway.url, headers=METRICS_HEADERS) as http:
        metrics = (await http.get("/metrics")).text
    assert 'aiclone_gateway_network_mode{mode="hybrid"} 1.0' in metrics
    assert 'aiclone_gateway_path_up{path="direct"} 1.0' in metrics


async def test_requests_take_the_faster_path(hybrid: TwoPaths):
    for slow, fast in (("relay", "direct"), ("direct", "relay")):
        getattr(hybrid, slow).latency(0.05)
        getattr(hybrid, fast).latency(0.0)
        # the smoothed RTTs part by more than the hysteresis asks, so the next request moves
        await _until_gateway(hybrid, _slower(slow, than=fast))
        before = await _served(hybrid)
        assert (await hybrid.ask()).strip()
        after = await _served(hybrid)
        assert after[fast] == before[fast] + 1 and after[slow] == before[slow], (before, after)


async def _until_gateway(paths: TwoPaths, condition: Callable[[dict], bool], timeout: float = 30) -> None:
    """Poll the gateway's ``/api/status`` until ``condition(paths)`` holds (bounded)."""
    async with asyncio.timeout(timeout):
        while not condition((await paths.status("gateway"))["paths"]):
            await asyncio.sleep(0.1)


def _slower(slow: str, than: str) -> Callable[[dict], bool]:
    """Whether ``slow``'s smoothed RTT exceeds ``than``'s by 20 ms (past the switch hysteresis)."""
    return lambda paths: paths[slow]["rtt_ms"] > paths[than]["rtt_ms"] + 20


_direct_is_faster = _slower("relay", than="direct")


async def _served(paths: TwoPaths) -> dict[str, float]:
    """Requests the agent served per path (its /metrics)."""
    async with httpx.AsyncClient(base_url=paths.agent.url) as http:
        metrics = (await http.get("/metrics")).text
    served = {"relay": 0.0, "direct": 0.0}
    for line in metrics.splitlines():
        for name in served:
            if line.startswith(f'aiclone_agent_link_requests_total{{path="{name}"}}'):
                served[name] = float(line.rsplit(" ", 1)[1])
    return served


async def test_cutting_direct_falls_back_to_relay_and_loses_no_request(hybrid: TwoPaths):
    hybrid.relay.latency(0.03)  # direct is the faster path, so requests go there until the cut
    await _until_gateway(hybrid, _direct_is_faster)
    hybrid.direct.cut()
    relay_mode = asyncio.create_task(hybrid.wait_mode("relay"))  # within 10 s of the cut
    # requests started right after the cut: each is answered (on the relay if direct failed)
    answers = await asyncio.gather(*(hybrid.ask(f"Say {word}.") for word in ("one", "two", "three")))
    assert all(answer.strip() for answer in answers)
    await relay_mode
    await hybrid.wait_mode("relay", side="agent")
    assert "direct path closed" in hybrid.gateway.log.read_text(encoding="utf-8")


async def test_blackholed_direct_is_distrusted_by_missed_probes(hybrid: TwoPaths):
    hybrid.direct.blackhole()
    await hybrid.wait_mode("relay")  # no close, no RST: only the missed probes can tell
    # /api/status evaluates the paths on each call; the hub logs the change on its next watch tick
    for _ in range(40):
        if "missed probes" in hybrid.gateway.log.read_text(encoding="utf-8"):
            break
        await asyncio.sleep(0.1)
    assert "missed probes" in hybrid.gateway.log.read_text(encoding="utf-8")
    assert (await hybrid.ask()).strip()  # new requests avoid the silent path


async def test_cutting_the_relay_keeps_the_clone_reachable_directly(hybrid: TwoPaths):
    hybrid.relay.cut()
    await hybrid.wait_mode("direct")
    await hybrid.wait_mode("direct", side="agent")
    assert (await hybrid.ask()).strip()
    async with httpx.AsyncClient(base_url=hybrid.gateway.url) as http:
        assert (await http.get("/api/status")).json()["agent_online"] is True


async def test_both_paths_down_is_offline_then_recovers_to_hybrid(hybrid: TwoPaths):
    hybrid.relay.cut()
    hybrid.direct.cut()
    await hybrid.wait_mode("offline")
    await hybrid.wait_mode("offline", side="agent")
    with pytest.raises(openai.APIStatusError) as refused:
        await hybrid.ask()
    assert refused.value.status_code == 503
    hybrid.relay.restore()
    hybrid.direct.restore()
    await hybrid.wait_mode("hybrid", timeout=30)  # the agent relinks, the gateway redials (backoff)
    assert (await hybrid.ask()).strip()


async def test_a_stream_whose_path_dies_ends_with_an_error(hybrid: TwoPaths):
    hybrid.relay.latency(0.03)  # the stream goes direct
    await _until_gateway(hybrid, _direct_is_faster)
    stream = await hybrid.client.chat.completions.create(
        model="my-clone",
        messages=[{"role": "user", "content": "Count from one to one hundred in words."}],
        max_tokens=200,
        stream=True,
    )
    chunks = 0
    # An explicit error once the path is declared dead; a hang would end in the client's own
    # timeout instead, whose message names neither a lost path nor a disconnect.
    with pytest.raises(openai.APIError) as failed:
        async for _ in stream:
            chunks += 1
            if chunks == 1:
                hybrid.direct.blackhole()
    assert chunks >= 1
    assert "lost" in str(failed.value) or "disconnected" in str(failed.value)
