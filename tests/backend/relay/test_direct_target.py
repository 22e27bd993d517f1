"""Which addresses the gateway dials for an agent's direct path (SSRF): public ones, and what the
owner allowed; never loopback, link-local, metadata, private or its own unless allowed."""

from __future__ import annotations

import ipaddress

import pytest

from aiclone_gateway.relay.direct_target import DirectTargetRefusedError, checked_address, refusal
from aiclone_wire.direct import DirectAddress

OWN = [ipaddress.ip_address("198.51.100.10")]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "metadata"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 spelling of 169.254.169.254
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("0.0.0.0", "unicast"),
        ("::", "unicast"),
        ("224.0.0.1", "unicast"),
        ("10.1.2.3", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd12::1", "private"),
        ("198.51.100.10", "own"),
    ],
)
def test_refused_by_default(address: str, reason: str):
    why = refusal(ipaddress.ip_address(address), [], OWN)
    assert why is not None and reason in why, why


def test_public_addresses_are_dialed():
    for address in ("8.8.8.8", "2606:4700:4700::1111", "203.0.114.1"):
        assert refusal(ipaddress.ip_address(address), [], OWN) is None, address


def test_the_owner_allows_networks_explicitly():
    allowed = [ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("127.0.0.2/32")]
    assert refusal(ipaddress.ip_address("100.101.102.103"), allowed, OWN) is None
    assert refusal(ipaddress.ip_address("127.0.0.2"), allowed, OWN) is None
    assert refusal(ipaddress.ip_address("127.0.0.1"), allowed, OWN) is not None
    assert refusal(ipaddress.ip_address("169.254.169.254"), allowed, OWN) is not None


async def test_every_resolved_address_is_checked():
    # localhost resolves to loopback only: refused; an allowed literal comes back as the address to dial
    with pytest.raises(DirectTargetRefusedError, match="loopback"):
        await checked_address(DirectAddress("localhost", 3100), [])
    assert (
        await checked_address(DirectAddress("127.0.0.2", 3100), [ipaddress.ip_network("127.0.0.2/32")])
        == "127.0.0.2"
    )
