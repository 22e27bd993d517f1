"""Where the gateway agrees to dial an agent's direct listener: never somewhere an agent token should
not be able to aim it (SSRF).

The advertised address is already ``wss://host:port`` (``aiclone_wire.direct``). Its host is resolved
here and every address it resolves to must be a public one: loopback, link-local (169.254.0.0/16,
fe80::/10), the cloud metadata services, private, reserved, multicast and unspecified addresses and
the gateway's own addresses are refused, unless the owner listed a network that holds the address in
``AICLONE_GATEWAY_DIRECT_ALLOWED_NETWORKS`` (a VPN such as 100.64.0.0/10, or 127.0.0.0/8 in tests).
The dial then goes to the address that was checked, so a DNS answer that changes in between
(rebinding) cannot redirect it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable

from aiclone_wire.direct import DirectAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services some clouds answer on addresses that are not link-local.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Hetzner, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)


class DirectTargetRefusedError(Exception):
    """The advertised host resolves to an address the gateway does not dial; the message says why."""


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _plain(address: IPAddress) -> IPAddress:
    """An IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) as that IPv4 address: the
    rules are the IPv4 address's."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if address.sixtofour is not None:
            return address.sixtofour
    return address


def refusal(address: IPAddress, allowed: Iterable[IPNetwork], own: Iterable[IPAddress]) -> str | None:
    """Why the gateway does not dial ``address`` (None: it may)."""
    address = _plain(address)
    if any(address.version == net.version and address in net for net in allowed):
        return None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address.is_multicast:
        return "not a unicast address"
    if address in {_plain(a) for a in own}:
        return "the gateway's own address"
    if not address.is_global:
        return "a private or reserved address"
    return None


async def _resolve(host: str, port: int) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # a scope id (fe80::1%eth0) is not part of the address
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


async def own_addresses(public_host: str | None) -> set[IPAddress]:
    """The addresses this host is known by (its hostname, the gateway's public name)."""
    found: set[IPAddress] = set()
    for host in {socket.gethostname(), public_host or ""} - {""}:
        try:
            found.update(await _resolve(host, 0))
        except OSError:
            continue
    return found


async def checked_address(
    target: DirectAddress, allowed: Iterable[IPNetwork], public_host: str | None = None
) -> str:
    """The address to dial for ``target``: every address its host resolves to must pass."""
    try:
        addresses = await _resolve(target.host, target.port)
    except OSError as exc:
        raise DirectTargetRefusedError(f"cannot resolve {target.host}: {exc}") from None
    if not addresses:
        raise DirectTargetRefusedError(f"{target.host} resolves to no address")
    own = await own_addresses(public_host)
    allowed = list(allowed)
    for address in addresses:
        reason = refusal(address, allowed, own)
        if reason is not None:
            raise DirectTargetRefusedError(f"{target.host} resolves to {address}: {reason}")
    return str(addresses[0])
