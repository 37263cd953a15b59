"""Per-API-client rate limiting with the `limits` library, in memory or shared through Redis.

The key is the verified token's client id; `/connect/token` is keyed by the client id it
names (Basic or form) and anything else anonymous by the peer address. The token endpoint
has two more budgets per peer address, because a client id in a request is only a claim
(inventing a new one per request used to get a fresh budget each time): one for every token
request (`UNIHUB_TOKEN_PEER_LIMIT`) and one for failed ones (`UNIHUB_TOKEN_FAILURE_LIMIT`);
a peer that spent its failures is refused every token request until its window ends.
Fixed windows keep it to one counter per client and window. If Redis fails, requests pass
(fail open, logged): an outage of the limiter must not become an outage of the API.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from urllib.parse import parse_qsl

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from unihub.core.context import AppContext
from unihub.middleware.asgi import TOKEN_PATH, header, send_error
from unihub.middleware.clients import client_ip, verified_client_id

log = logging.getLogger("unihub.ratelimit")

RATE_LIMITED = 111
# The answer headers (IETF draft-ietf-httpapi-ratelimit-headers), the tightest limit's.
LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_LIMIT, _REMAINING, _RESET = (name.lower().encode() for name in LIMIT_HEADERS)
TOKEN_FAILURES = 118
# Answers that say the credentials were wrong or the request malformed.
_FAILED_TOKEN_STATUSES = frozenset({400, 401})
# Probes and scrapes come from infrastructure, not API clients.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def rate_limit_enabled(spec: str) -> bool:
    return spec.strip().lower() not in ("", "off", "none", "false", "0")


def make_storage(redis_url: str | None) -> Storage:
    if not redis_url:
        return MemoryStorage()
    # redis-py is already a dependency (coredis would be a second Redis client).
    return RedisStorage(f"async+{redis_url}", implementation="redispy")


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        ctx: AppContext,
        spec: str,
        redis_url: str | None = None,
        *,
        token_peer_spec: str,
        token_failure_spec: str,
    ) -> None:
        self.app = app
        self.ctx = ctx
        self.items: list[RateLimitItem] = parse_many(spec)
        self.token_peer_items: list[RateLimitItem] = parse_many(token_peer_spec)
        self.token_failure_items: list[RateLimitItem] = parse_many(token_failure_spec)
        self.limiter = FixedWindowRateLimiter(make_storage(redis_url))
        self._last_failure_log = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if scope["path"] == TOKEN_PATH and scope["method"] == "POST":
            await self._token_request(scope, receive, send)
            return
        else:
            client_id = await verified_client_id(scope, self.ctx)
            key = f"client:{client_id}" if client_id else f"ip:{client_ip(scope)}"

        try:
            allowed, headers = await self._hit(key, self.items)
        except Exception:  # storage unreachable: fail open
            self._log_failure()
            await self.app(scope, receive, send)
            return
        if not allowed:
            await _too_many(scope, send, headers, "requests for this API client")
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _token_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The token endpoint: per-peer budgets first, then the named client's."""
        peer = client_ip(scope)
        failures = f"token-failures:{peer}"
        try:
            exhausted = [
                item
                for item in self.token_failure_items
                if not await self.limiter.test(item, failures)
            ]
            if exhausted:
                reset = await self._reset_after(exhausted, failures)
                await send_error(
                    scope,
                    send,
                    429,
                    TOKEN_FAILURES,
                    "Too many failed token requests from this address; retry after "
                    f"{reset} seconds.",
                    [(b"retry-after", str(reset).encode())],
                )
                return
            allowed, headers = await self._hit(f"token-peer:{peer}", self.token_peer_items)
            if allowed:
                key, receive = await _token_request_key(scope, receive)
                allowed, headers = await self._hit(key, self.items)
        except Exception:  # storage unreachable: fail open
            self._log_failure()
            await self.app(scope, receive, send)
            return
        if not allowed:
            await _too_many(scope, send, headers, "token requests")
            return
        status = 0

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_counting)
        if status in _FAILED_TOKEN_STATUSES:
            try:
                for item in self.token_failure_items:
                    await self.limiter.hit(item, failures)
            except Exception:
                self._log_failure()

    async def _reset_after(self, items: list[RateLimitItem], key: str) -> int:
        now = time.time()
        resets = [(await self.limiter.get_window_stats(i, key)).reset_time for i in items]
        return max(1, math.ceil(max(resets) - now))

    async def _hit(
        self, key: str, items: list[RateLimitItem]
    ) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """Count the request against every given limit; headers describe the tightest."""
        allowed = True
        tightest: tuple[int, int, int] | None = None  # remaining, limit, reset seconds
        now = time.time()
        for item in items:
            if not await self.limiter.hit(item, key):
                allowed = False
            stats = await self.limiter.get_window_stats(item, key)
            reset = max(1, math.ceil(stats.reset_time - now))
            candidate = (stats.remaining, item.amount, reset)
            if tightest is None or candidate[0] < tightest[0]:
                tightest = candidate
        assert tightest is not None
        remaining, amount, reset = tightest
        return allowed, [
            (_LIMIT, str(amount).encode()),
            (_REMAINING, str(remaining).encode()),
            (_RESET, str(reset).encode()),
        ]

    def _log_failure(self) -> None:
        now = time.monotonic()
        if now - self._last_failure_log > 10:
            self._last_failure_log = now
            log.warning("rate limit storage unavailable; requests pass unlimited", exc_info=True)


async def _too_many(
    scope: Scope, send: Send, headers: list[tuple[bytes, bytes]], what: str
) -> None:
    retry = headers[-1][1]  # `_hit` puts the reset seconds last
    await send_error(
        scope,
        send,
        429,
        RATE_LIMITED,
        f"Too many {what}; retry after {retry.decode()} seconds.",
        [*headers, (b"retry-after", retry)],
    )


async def _token_request_key(scope: Scope, receive: Receive) -> tuple[str, Receive]:
    """Key a token request by the client it names; the body is read here and replayed."""
    basic = header(scope, b"authorization") or ""
    scheme, _, encoded = basic.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id = base64.b64decode(encoded.strip(), validate=True).decode().split(":")[0]
        except (ValueError, UnicodeDecodeError):
            client_id = ""
        if client_id:
            return f"token:{client_id}", receive

    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    client_id = form.get("client_id", "")[:200]
    key = f"token:{client_id}" if client_id else f"ip:{client_ip(scope)}"

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return key, replay
