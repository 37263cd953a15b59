"""Refuse webhook URLs that would make the server call into its own network (SSRF).

URLs are parsed with httpx, the library that later delivers to them, so the host checked
here is the host httpx would connect to. Names are resolved and every address must be
public. This does not stop DNS rebinding between check and delivery; delivery should
re-check the address it connects to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_RESOLVE_TIMEOUT_S = 5.0
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


async def check_webhook_url(url: str, allow_private: bool) -> str | None:
    """Return why `url` cannot be a webhook target, or None when it can."""
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError):
        return "the webhook URL is not a valid URL"
    if parsed.scheme not in ("http", "https"):
        return "the webhook URL must be an absolute http:// or https:// URL"
    host = parsed.raw_host.decode("ascii")
    if not host:
        return "the webhook URL has no host"
    if port is not None and not 0 < port < 65536:
        return f"the webhook URL port {port} is out of range"

    literal = _parse_ip(host)
    if not allow_private and _is_localhost_name(host):
        return f"the webhook host {host} is not a public internet address"
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = await _resolve(host, port or (443 if parsed.scheme == "https" else 80))
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
