"""Which addresses the server may connect to on a tenant's behalf (webhook URLs): public ones,
plus the networks an operator allows explicitly (`VIVA_WEBHOOK_ALLOW_NETWORKS`).

A URL is checked when it is given (an address literal, or a name that resolves) and again at each
delivery, where the name is resolved once, every address it resolves to is checked, and the
connection goes to a checked address (`Target`): a name that changes its answer between the check
and the connection (DNS rebinding) cannot redirect the request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Names that always mean this machine, whatever the resolver says (RFC 6761).
_LOCAL_NAMES = ("localhost", ".localhost")
RESOLVE_TIMEOUT_S = 3.0


class BlockedAddress(ValueError):
    """The URL leads to an address the server must not connect to."""


class UnresolvedHost(OSError):
    """The URL's host name did not resolve."""


def parse_networks(spec: str) -> tuple[IPNetwork, ...]:
    """`10.0.0.0/8, 127.0.0.1` -> networks; ValueError naming the bad entry."""
    networks: list[IPNetwork] = []
    for item in spec.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP network: {item!r} ({exc})") from exc
    return tuple(networks)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def category(ip: IPAddress) -> str | None:
    """Why an address is not public (`loopback`, `private`...), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address) and (v4 := _embedded_ipv4(ip)) is not None:
        return category(v4)
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private or getattr(ip, "is_site_local", False)),
        ("reserved", ip.is_reserved or not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, and those in `allowed` (an operator's explicit choice)."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_setting(cls, spec: str) -> AddressPolicy:
        return cls(parse_networks(spec))

    def refusal(self, ip: IPAddress) -> str | None:
        """None when the address may be reached, else why not."""
        if any(ip.version == net.version and ip in net for net in self.allowed):
            return None
        why = category(ip)
        return None if why is None else f"{ip} is a {why} address"


@dataclass(frozen=True)
class Target:
    """A URL's host and port, and the checked addresses to connect to instead of the name."""

    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise BlockedAddress("the URL's port is invalid") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress("the URL must be http(s)://host/...")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address the name resolves to, in the resolver's order; UnresolvedHost if none."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise UnresolvedHost(f"{host} does not resolve") from exc
    found = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    if not found:
        raise UnresolvedHost(f"{host} does not resolve")
    return tuple(dict.fromkeys(found))


def _check(policy: AddressPolicy, host: str, addresses: Sequence[IPAddress]) -> None:
    for ip in addresses:
        why = policy.refusal(ip)
        if why is not None:
            shown = why if _literal(host) else f"{host} resolves to {why}"
            raise BlockedAddress(f"{shown}; webhooks go to public addresses only")


def _check_name(host: str) -> None:
    name = host.lower().rstrip(".")
    if name == _LOCAL_NAMES[0] or name.endswith(_LOCAL_NAMES[1]):
        raise BlockedAddress(f"{host} is this machine; webhooks go to public addresses only")


async def check_url(url: str, policy: AddressPolicy) -> None:
    """When a URL is given: BlockedAddress if it names, or resolves to, a refused address.
    A name that does not resolve now is let through: every delivery checks again."""
    host, port = _host_port(url)
    literal = _literal(host)
    if literal is not None:
        _check(policy, host, [literal])
        return
    if not policy.allowed:
        _check_name(host)
    try:
        addresses = await resolve(host, port)
    except UnresolvedHost:
        return
    _check(policy, host, addresses)


async def target(url: str, policy: AddressPolicy) -> Target:
    """At delivery: the addresses to connect to, every one checked. BlockedAddress if any
    address the name resolves to is refused (a name half public, half internal is refused);
    UnresolvedHost if it does not resolve."""
    host, port = _host_port(url)
    literal = _literal(host)
    if literal is None and not policy.allowed:
        _check_name(host)
    addresses = (literal,) if literal is not None else await resolve(host, port)
    _check(policy, host, addresses)
    return Target(host, port, addresses)
