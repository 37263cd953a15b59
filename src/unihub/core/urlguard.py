"""Refuse webhook URLs that would make the server call into its own network (SSRF).

Two checks, because a name can resolve differently each time it is looked up (DNS
rebinding):
- when a webhook URL is saved, `check_webhook_url` parses it and resolves its host; every
  address must be public;
- when a webhook is sent, `GuardedResolver` (the resolver of the aiohttp session that sends)
  refuses private addresses again, on the addresses aiohttp then connects to.

URLs are parsed by both httpx and yarl (aiohttp's parser, the one that sends) and refused
when they disagree on scheme, host or port, or carry what parsers read differently: a
backslash (WHATWG reads it as `/`, RFC 3986 parsers do not), user info, whitespace or
control characters.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_RESOLVE_TIMEOUT_S = 5.0
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


async def check_webhook_url(url: str, allow_private: bool) -> str | None:
    """Return why `url` cannot be a webhook target, or None when it can."""
    parsed = parse_webhook_url(url)
    if isinstance(parsed, str):
        return parsed
    scheme, host, port = parsed
    literal = _parse_ip(host)
    if not allow_private and _is_localhost_name(host):
        return f"the webhook host {host} is not a public internet address"
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = await _resolve(host, port or (443 if scheme == "https" else 80))
        except (OSError, UnicodeError, TimeoutError):
            addresses = []
        if not addresses:
            return f"the webhook host {host} cannot be resolved"
    if allow_private:
        return None
    for address in addresses:
        if not _is_public(address):
            shown = host if literal is not None else f"{host} ({address})"
            return f"the webhook host {shown} is not a public internet address"
    return None


def check_webhook_literal(url: str, allow_private: bool) -> str | None:
    """The checks that need no DNS (run before every send; names are checked at connect)."""
    parsed = parse_webhook_url(url)
    if isinstance(parsed, str):
        return parsed
    _, host, _ = parsed
    if allow_private:
        return None
    literal = _parse_ip(host)
    if _is_localhost_name(host) or (literal is not None and not _is_public(literal)):
        return f"the webhook host {host} is not a public internet address"
    return None


def parse_webhook_url(url: str) -> tuple[str, str, int | None] | str:
    """(scheme, host, port) as both httpx and yarl read `url`, or why it is refused."""
    if any(c in url for c in "\\ ") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "the webhook URL is not a valid URL (no backslashes, spaces or control characters)"
    try:
        ours = httpx.URL(url)
        port = ours.port
    except (httpx.InvalidURL, ValueError, TypeError):
        return "the webhook URL is not a valid URL"
    if ours.scheme not in ("http", "https"):
        return "the webhook URL must be an absolute http:// or https:// URL"
    host = ours.raw_host.decode("ascii")
    if not host:
        return "the webhook URL has no host"
    if port is not None and not 0 < port < 65536:
        return f"the webhook URL port {port} is out of range"
    if ours.userinfo:
        return "the webhook URL must not carry a user name or password"
    try:
        theirs = yarl.URL(url)
        their_port = theirs.explicit_port
    except (ValueError, TypeError):
        return "the webhook URL is not a valid URL"
    if (
        theirs.scheme != ours.scheme
        or not _same_host(theirs.raw_host or "", host)
        or their_port != port
        or theirs.user is not None
        or theirs.password is not None
    ):
        return "the webhook URL is ambiguous: URL parsers read its host differently"
    return ours.scheme, host, port


def _same_host(a: str, b: str) -> bool:
    ip_a, ip_b = _parse_ip(a.strip("[]")), _parse_ip(b.strip("[]"))
    if ip_a is not None or ip_b is not None:
        return ip_a == ip_b
    return a.lower() == b.lower()


class RefusedAddress(OSError):
    """A webhook host that resolves to an address the guard refuses."""


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver for webhooks: the addresses it returns are the ones aiohttp
    connects to, so refusing private ones here closes the rebinding window. IP literals
    never reach a resolver; `check_webhook_literal` covers them before each send."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if not self.allow_private and _is_localhost_name(host):
            raise RefusedAddress(f"the webhook host {host} is not a public internet address")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(_RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, family=family, flags=socket.AI_ADDRCONFIG
            )
        results: list[ResolveResult] = []
        for fam, _, proto, _, sockaddr in infos:
            address = _parse_ip(str(sockaddr[0]))
            if address is None:
                continue
            if not self.allow_private and not _is_public(address):
                raise RefusedAddress(
                    f"the webhook host {host} ({address}) is not a public internet address"
                )
            results.append(
                {
                    "hostname": host,
                    "host": str(sockaddr[0]),
                    "port": int(sockaddr[1]),
                    "family": fam,
                    "proto": proto,
                    "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
                }
            )
        if not results:
            raise OSError(f"the webhook host {host} cannot be resolved")
        return results

    async def close(self) -> None:
        return None


def _is_localhost_name(host: str) -> bool:
    # RFC 6761: `localhost` and its subdomains are loopback even where no resolver says so.
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _parse_ip(text: str) -> IPAddress | None:
    # The zone of a link-local literal (`fe80::1%eth0`) does not change its class.
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[IPAddress]:
    # getaddrinfo runs in the loop's executor, so a slow resolver never blocks the loop.
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(_RESOLVE_TIMEOUT_S):
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = (_parse_ip(str(info[4][0])) for info in infos)
    return [address for address in found if address is not None]


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # Addresses that embed an IPv4 address reach that IPv4 address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _is_public(embedded)
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )
