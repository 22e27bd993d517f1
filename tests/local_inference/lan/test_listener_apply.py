"""Apply: the LAN listener's and the direct path's saved settings take effect in-process, on real
sockets: a new port is listened on and the old one let go, without restarting the agent; a port
that cannot be bound says why (in the answer and in /api/status) and the agent keeps serving. Why
is a code with its params for the admin page (``error_code``: the OS's "[Errno 98] ..." is for the
log only, in ``error``)."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl

import httpx
import pytest

from aiclone_agent.core.listener_state import listen_error_code
from tests.support.processes import free_port


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def test_a_new_lan_port_is_listened_on_after_apply(agent):
    client, lan = agent.client, agent.runtime.lan
    first, second = free_port(), free_port()
    try:
        saved = await client.put(
            "/api/listeners/lan", json={"enabled": True, "host": "127.0.0.1", "port": first}
        )
        assert saved.status_code == 200 and saved.json()["pending"] is True
        assert not _accepts(first)  # saved, not applied
        applied = (await client.post("/api/listeners/lan/apply")).json()
        assert (applied["state"], applied["address"], applied["pending"]) == (
            "running",
            f"127.0.0.1:{first}",
            False,
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{first}") as http:
            assert (await http.get("/")).status_code == 200  # the LAN chat page

        await client.put("/api/listeners/lan", json={"enabled": True, "host": "127.0.0.1", "port": second})
        assert (await client.get("/api/status")).json()["lan"]["pending"] is True
        applied = (await client.post("/api/listeners/lan/apply")).json()
        assert applied["address"] == f"127.0.0.1:{second}" and applied["error"] is None
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{second}") as http:
            assert (await http.get("/")).status_code == 200
        assert not _accepts(first)  # the old port is let go
        assert (await client.get("/api/status")).json()["lan"] == {
            "enabled": True,
            "address": f"127.0.0.1:{second}",
            "error": None,
            "error_code": None,
            "error_params": None,
            "state": "running",
            "pending": False,
            "revocations": (await client.get("/api/status")).json()["lan"]["revocations"],
        }

        await client.put("/api/listeners/lan", json={"enabled": False, "host": "127.0.0.1", "port": second})
        stopped = (await client.post("/api/listeners/lan/apply")).json()
        assert (stopped["state"], stopped["address"]) == ("stopped", None) and not _accepts(second)
    finally:
        await lan.stop()


async def test_a_port_in_use_fails_with_the_reason_and_the_agent_keeps_serving(agent):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            await agent.client.put(
                "/api/listeners/lan", json={"enabled": True, "host": "127.0.0.1", "port": port}
            )
            failed = (await agent.client.post("/api/listeners/lan/apply")).json()
            assert failed["state"] == "failed" and f"cannot listen on 127.0.0.1:{port}" in failed["error"]
            assert failed["error_code"] == "listener_address_in_use"
            assert failed["error_params"] == {"host": "127.0.0.1", "port": port}
            status = (await agent.client.get("/api/status")).json()
            assert status["lan"]["state"] == "failed" and status["lan"]["error"] == failed["error"]
            assert (status["lan"]["error_code"], status["lan"]["error_params"]) == (
                failed["error_code"],
                failed["error_params"],
            )
        finally:
            await agent.runtime.lan.stop()


async def test_an_address_this_pc_does_not_have_is_named_so(agent):
    """192.0.2.1 (TEST-NET-1) is on no interface of this machine: the bind fails with
    EADDRNOTAVAIL, which the page says as "this PC has no address 192.0.2.1"."""
    port = free_port()
    try:
        await agent.client.put(
            "/api/listeners/lan", json={"enabled": True, "host": "192.0.2.1", "port": port}
        )
        failed = (await agent.client.post("/api/listeners/lan/apply")).json()
        assert (failed["state"], failed["error_code"], failed["error_params"]) == (
            "failed",
            "listener_address_not_available",
            {"host": "192.0.2.1", "port": port},
        )
    finally:
        await agent.runtime.lan.stop()


async def test_the_direct_path_on_a_port_in_use_says_so_as_a_code(agent):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        body = {
            "enabled": True,
            "host": "127.0.0.1",
            "port": port,
            "advertise_url": f"wss://203.0.113.7:{port}",
        }
        try:
            await agent.client.put("/api/listeners/direct", json=body)
            failed = (await agent.client.post("/api/listeners/direct/apply")).json()
            assert failed["state"] == "failed" and "in use" in failed["error"]  # the OS's words, for the log
            assert (failed["error_code"], failed["error_params"]) == (
                "listener_address_in_use",
                {"host": "127.0.0.1", "port": port},
            )
            assert (await agent.client.get("/api/status")).json()["gateway"][
                "direct_error_code"
            ] == "listener_address_in_use"
        finally:
            await agent.runtime.direct.stop()
            await agent.client.put("/api/listeners/direct", json={**body, "enabled": False})
            await agent.client.post("/api/listeners/direct/apply")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (OSError(errno.EADDRINUSE, "Address already in use"), "listener_address_in_use"),
        (PermissionError(errno.EACCES, "Permission denied"), "listener_permission_denied"),
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), "listener_address_not_available"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "listener_address_not_available"),
        (OSError(errno.EMFILE, "Too many open files"), "listener_failed"),
    ],
)
def test_each_bind_failure_has_its_code(error: OSError, code: str):
    """Ports below 1024 (EACCES) cannot be met for real where the tests run as root."""
    assert listen_error_code(error) == code


async def test_bad_listener_settings_are_refused_and_nothing_is_saved(agent):
    before = agent.config_path.read_bytes()
    for bad in ({"enabled": True, "host": "127.0.0.1", "port": 70_000}, {"enabled": True, "colour": 1}):
        assert (await agent.client.put("/api/listeners/lan", json=bad)).status_code == 400, bad
    bad_url = {"enabled": True, "host": "127.0.0.1", "port": 3100, "advertise_url": "http://x"}
    assert (await agent.client.put("/api/listeners/direct", json=bad_url)).status_code == 400
    assert agent.config_path.read_bytes() == before


async def test_the_direct_listener_moves_to_a_new_port_on_apply(agent):
    client, direct = agent.client, agent.runtime.direct
    first, second = free_port(), free_port()
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # its own self-signed certificate

    async def tls_handshake(port: int) -> str:
        """The TLS version the listener (served on this event loop) speaks."""
        _reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=context), 10)
        version = writer.get_extra_info("ssl_object").version()
        writer.close()
        return version or ""

    try:
        body = {
            "enabled": True,
            "host": "127.0.0.1",
            "port": first,
            "advertise_url": f"wss://203.0.113.7:{first}",
        }
        assert (await client.put("/api/listeners/direct", json=body)).json()["pending"] is True
        applied = (await client.post("/api/listeners/direct/apply")).json()
        assert (applied["state"], applied["address"]) == ("running", f"127.0.0.1:{first}")
        assert (await tls_handshake(first)).startswith("TLS")

        await client.put("/api/listeners/direct", json={**body, "port": second})
        applied = (await client.post("/api/listeners/direct/apply")).json()
        assert (applied["state"], applied["address"], applied["pending"]) == (
            "running",
            f"127.0.0.1:{second}",
            False,
        )
        assert (await tls_handshake(second)).startswith("TLS") and not _accepts(first)
        assert (await client.get("/api/status")).json()["gateway"]["direct"][
            "address"
        ] == f"127.0.0.1:{second}"
    finally:
        await direct.stop()
