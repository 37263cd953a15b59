"""The factories of every outbound HTTP client: providers (httpx) and webhooks (aiohttp)."""

from __future__ import annotations

import aiohttp
import httpx

from unihub import __version__
from unihub.core.loops import PerLoop
from unihub.core.urlguard import GuardedResolver

USER_AGENT = f"unihub/{__version__}"


# Per event loop: an httpx client belongs to the loop it first ran on.
_provider_clients: PerLoop[dict[tuple[str, float], httpx.AsyncClient]] = PerLoop(lambda _: {})


def provider_client(base_url: str, timeout_s: float = 10.0) -> httpx.AsyncClient:
    """The keep-alive httpx client of one provider base URL; the timeout bounds each attempt.

    Shared by every call on the running event loop and not to be closed by callers: a new
    client per call paid a TCP and TLS handshake, and loading the CA bundle (~35 ms of CPU,
    most of an integration create, profiled), every time. httpx drops connections idle for
    5 s, before providers close them.
    """
    clients = _provider_clients.get()
    key = (base_url.rstrip("/"), timeout_s)
    client = clients.get(key)
    if client is None or client.is_closed:
        client = clients[key] = httpx.AsyncClient(
            base_url=key[0],
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
    return client


async def close_provider_clients() -> None:
    """Close the running loop's provider clients and their connections (at shutdown)."""
    for client in (_provider_clients.pop() or {}).values():
        await client.aclose()


def webhook_client(timeout_s: float, allow_private: bool) -> aiohttp.ClientSession:
    """One keep-alive session per process for every receiver (call inside the running loop).

    aiohttp rather than the httpx of `provider_client`: with dozens of concurrent
    requests httpx spent ~2 ms of CPU per webhook in its connection pool, aiohttp ~0.1 ms, and
    webhooks are the engine's hot path. No redirects are followed, as for providers. Names
    are resolved by `GuardedResolver`, which refuses private addresses (unless allowed) on
    the very addresses the connection is then made to.
    """
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        headers={"User-Agent": USER_AGENT},
        connector=aiohttp.TCPConnector(limit=200, resolver=GuardedResolver(allow_private)),
        trust_env=False,
    )
