"""Long-lived connections end when their token does: revoked or expired.

A websocket is authenticated once, at connect, but may stay open for days. HTTP requests
with a revoked token get 401 within the revocation cache's age (5 s); a socket opened with
that token must not keep streaming. One task per process checks every watched connection
every `INTERVAL_S` (a set lookup each; the revocation list refreshes itself at most once per
its TTL), so a socket closes within the same bound plus `INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from unihub.core.tokens import Principal, Revocations

log = logging.getLogger("unihub.identity")

INTERVAL_S = 0.25
# WebSocket close code 1008 (policy violation): the client must get a new token to reconnect.
CLOSE_CODE = 1008

Close = Callable[[int, str], Awaitable[None]]


class TokenWatch:
    def __init__(self, revocations: Revocations, interval_s: float = INTERVAL_S) -> None:
        self._revocations = revocations
        self._interval = interval_s
        self._watched: dict[int, tuple[Principal, Close]] = {}
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def watching(self, principal: Principal, close: Close) -> AsyncIterator[None]:
        """Within this block, `close(code, reason)` is called once the token stops being valid."""
        key = id(close)
        self._watched[key] = (principal, close)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="unihub-token-watch")
        try:
            yield
        finally:
            self._watched.pop(key, None)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:  # started on first use, idle until the process stops
            await asyncio.sleep(self._interval)
            if not self._watched:
                continue
            try:
                await self._check()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away; check again next round
                log.warning("token watch round failed", exc_info=True)

    async def _check(self) -> None:
        now = time.time()
        for key, (principal, close) in list(self._watched.items()):
            if principal.expires_at <= now:
                reason = "the access token expired"
            elif await self._revocations.is_revoked(principal.secret_id):
                reason = "the access token was revoked"
            else:
                continue
            self._watched.pop(key, None)
            with contextlib.suppress(Exception):  # already closing: nothing left to do
                await close(CLOSE_CODE, reason)
