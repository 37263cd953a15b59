"""Wake-up signals for delivery workers across processes.

The outbox table is the only source of truth; these signals only say "look at the outbox
now", so a lost signal costs latency (one poll interval), never an activity.
- embedded (SQLite): an in-process event;
- PostgreSQL: `pg_notify` inside the activity's transaction (sent at commit) and LISTEN;
- Redis (`UNIHUB_REDIS_URL`): PUBLISH after commit and SUBSCRIBE.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from unihub.core.config import Settings

log = logging.getLogger("unihub.delivery")

CHANNEL = "unihub_deliveries"
_NOTIFY = text(f"NOTIFY {CHANNEL}")


class Notifier:
    """In-process only (the embedded default)."""

    def __init__(self, wake: asyncio.Event) -> None:
        self.wake = wake

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def in_tx(self, session: Session) -> None:
        """Called inside the transaction that queued deliveries (a sync session)."""
        return None

    async def after_commit(self) -> None:
        self.wake.set()


class _Listening(Notifier):
    """A background task that keeps a subscription alive, reconnecting after failures."""

    def __init__(self, wake: asyncio.Event) -> None:
        super().__init__(wake)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name="unihub-notify-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _supervise(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect; polling covers the gap
                log.warning("delivery notification listener failed: %s", exc)
            await asyncio.sleep(1.0)

    async def _listen(self) -> None:
        raise NotImplementedError


class PgNotifier(_Listening):
    def __init__(self, wake: asyncio.Event, database_url: str) -> None:
        super().__init__(wake)
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)

    def in_tx(self, session: Session) -> None:
        # Delivered by PostgreSQL at commit, and only if the transaction commits.
        session.execute(_NOTIFY)

    async def _listen(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn)
        lost = asyncio.Event()
        try:
            await conn.add_listener(CHANNEL, lambda *_: self.wake.set())
            conn.add_termination_listener(lambda *_: lost.set())
            self.wake.set()  # catch up on whatever arrived while not listening
            await lost.wait()
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)  # then asyncpg drops the socket


class RedisNotifier(_Listening):
    def __init__(self, wake: asyncio.Event, redis_url: str) -> None:
        super().__init__(wake)
        self._url = redis_url
        self._pub: Any = None

    async def after_commit(self) -> None:
        self.wake.set()
        try:
            if self._pub is None:
                import redis.asyncio as redis

                self._pub = redis.from_url(self._url)
            await self._pub.publish(CHANNEL, b"1")
        except Exception as exc:  # other processes will poll
            log.warning("could not publish a delivery notification: %s", exc)

    async def stop(self) -> None:
        await super().stop()
        if self._pub is not None:
            with contextlib.suppress(Exception):
                await self._pub.aclose()

    async def _listen(self) -> None:
        import redis.asyncio as redis

        client = redis.from_url(self._url)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            self.wake.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self.wake.set()
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                await client.aclose()


def make_notifier(settings: Settings, wake: asyncio.Event) -> Notifier:
    if settings.redis_url:
        return RedisNotifier(wake, settings.redis_url)
    if not settings.is_sqlite:
        return PgNotifier(wake, settings.resolved_database_url)
    return Notifier(wake)
