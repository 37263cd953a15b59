"""The one factory for outbound HTTP clients (providers and webhooks)."""

from __future__ import annotations

import httpx

from unihub import __version__

USER_AGENT = f"unihub/{__version__}"


def provider_client(base_url: str, timeout_s: float = 10.0) -> httpx.AsyncClient:
    """An httpx client for one provider base URL; the timeout bounds each attempt."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )
