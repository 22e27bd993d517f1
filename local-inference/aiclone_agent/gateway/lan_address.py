"""Where people at home reach the LAN listener, told to the gateway in the hello for its "Use at home" page
(issue 25): ``lan.advertise_url`` when set, else ``http://<this PC's LAN address>:<lan.port>``.
With the listener on every interface (``0.0.0.0``) the LAN address is the one the system would
send from towards the internet: a UDP socket's ``connect`` picks it without sending a packet."""

from __future__ import annotations

import ipaddress
import socket

from aiclone_agent.core.config import LanSection

_ANY = {"0.0.0.0", "::", ""}
_PROBE = ("192.0.2.1", 9)  # TEST-NET-1 (RFC 5737): routed like the internet, never answered


def primary_address() -> str | None:
    """This PC's address on its network, or None (no network)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE)
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if ipaddress.ip_address(address).is_unspecified else address


def lan_url(section: LanSection) -> str | None:
    """The LAN chat page's address, or None when the listener is off or the PC has no network."""
    if not section.enabled:
        return None
    if section.advertise_url:
        return section.advertise_url.rstrip("/")
    host = primary_address() if section.host in _ANY else section.host
    if host is None:
        return None
    return f"http://[{host}]:{section.port}" if ":" in host else f"http://{host}:{section.port}"
