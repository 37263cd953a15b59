"""One guarded request: everything that is not a usable provider answer becomes unavailable.

Request URLs are never logged or put into errors: Graph carries the access token in the
query string. Chained httpx exceptions are dropped (`from None`) for the same reason.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from unihub.channels.errors import ProviderUnavailable
from unihub.core.http import provider_client

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]


async def request_json(
    provider: str,
    base_url: str,
    timeout_s: float,
    method: str,
    path: str,
    *,
    secrets: Sequence[str] = (),
    interpret: frozenset[int] = frozenset(),
    **kwargs: Any,
) -> tuple[int, JsonObject]:
    """Return (status, JSON object) for answers the caller must interpret (2xx and 4xx;
    `interpret` adds statuses otherwise unavailable, e.g. Telegram's 429 whose body says how
    long to wait).

    The httpx timeout bounds each phase; the outer `asyncio.timeout` also bounds the whole
    call so a provider trickling bytes cannot hold a request open longer than `timeout_s`.
    """
    try:
        async with asyncio.timeout(timeout_s):
            response = await provider_client(base_url, timeout_s).request(method, path, **kwargs)
    except (TimeoutError, httpx.TimeoutException):
        raise _unavailable(provider, f"no answer within {timeout_s:g} s", secrets) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = f"could not connect ({type(exc).__name__})"
        raise _unavailable(provider, reason, secrets) from None

    status = response.status_code
    if status in interpret:
        pass
    elif status >= 500:
        raise _unavailable(provider, f"it answered HTTP {status}", secrets)
    elif status in (408, 429):
        raise _unavailable(provider, f"it is throttling requests (HTTP {status})", secrets)
    elif not (200 <= status < 300 or 400 <= status < 500):
        raise _unavailable(provider, f"unexpected answer HTTP {status}", secrets)
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        raise _unavailable(provider, f"its answer (HTTP {status}) is not JSON", secrets) from None
    if not isinstance(body, dict):
        raise _unavailable(provider, f"its answer (HTTP {status}) is not a JSON object", secrets)
    return status, body


def _unavailable(provider: str, reason: str, secrets: Sequence[str]) -> ProviderUnavailable:
    error = ProviderUnavailable(provider, reason, secrets=secrets)
    log.warning("%s", error)
    return error


def unexpected(provider: str, status: int, secrets: Sequence[str] = ()) -> ProviderUnavailable:
    """An answer that parsed but lacks what the provider's API promises."""
    return _unavailable(provider, f"its answer (HTTP {status}) has an unexpected shape", secrets)


def text_field(body: JsonObject, key: str) -> str | None:
    """A non-empty string field, or None; ids must not silently become ''."""
    value = body.get(key)
    return value if isinstance(value, str) and value else None


async def request_bytes(
    provider: str,
    base_url: str,
    timeout_s: float,
    path: str,
    *,
    limit: int,
    secrets: Sequence[str] = (),
    **kwargs: Any,
) -> tuple[int, str, bytes]:
    """GET a file: (status, content type, body) for 2xx and 4xx answers, at most `limit`
    bytes (more: unavailable). Bounded like `request_json`."""
    try:
        async with asyncio.timeout(timeout_s):
            client = provider_client(base_url, timeout_s)
            async with client.stream("GET", path, **kwargs) as response:
                status = response.status_code
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise _unavailable(provider, f"its file is over {limit} bytes", secrets)
                    chunks.append(chunk)
                kind = response.headers.get("content-type", "application/octet-stream")
    except (TimeoutError, httpx.TimeoutException):
        raise _unavailable(provider, f"no answer within {timeout_s:g} s", secrets) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = f"could not connect ({type(exc).__name__})"
        raise _unavailable(provider, reason, secrets) from None
    if status >= 500 or status in (408, 429):
        raise _unavailable(provider, f"it answered HTTP {status}", secrets)
    if not (200 <= status < 300 or 400 <= status < 500):
        raise _unavailable(provider, f"unexpected answer HTTP {status}", secrets)
    return status, kind, b"".join(chunks)
