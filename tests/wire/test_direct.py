"""What counts as a direct address: ``wss://host:port`` and nothing that could steer the gateway."""

from __future__ import annotations

import pytest

from aiclone_wire.direct import (
    DirectAddress,
    DirectAddressError,
    certificate_fingerprint,
    parse_direct_address,
)


@pytest.mark.parametrize(
    ("advertised", "host", "port"),
    [
        ("wss://203.0.113.7:3100", "203.0.113.7", 3100),
        (" wss://Home.Example.com:443/ ", "home.example.com", 443),
        ("wss://[2001:db8::7]:3100", "2001:db8::7", 3100),
    ],
)
def test_wss_host_port_is_accepted(advertised: str, host: str, port: int):
    address = parse_direct_address(advertised)
    assert address == DirectAddress(host, port)
    assert address.url.endswith(f":{port}/agent/direct") and address.url.startswith("wss://")


@pytest.mark.parametrize(
    "advertised",
    [
        "http://127.0.0.1:3100/latest/meta-data/?x=",
        "ws://203.0.113.7:3100",  # no TLS
        "https://203.0.113.7:3100",
        "wss://203.0.113.7",  # no port
        "wss://203.0.113.7:3100/agent/direct",  # the path is the gateway's
        "wss://203.0.113.7:3100/?x=1",
        "wss://203.0.113.7:3100?",
        "wss://203.0.113.7:3100#frag",
        "wss://user:pw@203.0.113.7:3100",
        "wss://evil.com@203.0.113.7:3100",
        "wss://203.0.113.7:0",
        "wss://203.0.113.7:99999",
        "wss://bad_host!:3100",
        "wss://203.0.113.7:3100\r\nX-Injected: 1",
        "",
    ],
)
def test_anything_else_is_refused(advertised: str):
    with pytest.raises(DirectAddressError):
        parse_direct_address(advertised)


def test_the_fingerprint_is_the_sha256_of_the_der_bytes():
    assert certificate_fingerprint(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
