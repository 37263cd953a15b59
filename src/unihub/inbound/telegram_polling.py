"""Telegram without a public URL: updates by long polling `getUpdates`, in every process,
one poller per bot across all of them.

Each process scans the active Telegram integrations that poll and tries to take each bot's
lease (`telegram_polls`: owner, expiry, offset). The holder renews it at every poll; another
process takes it over when it expires or when its owner is dead (`delivery.owners`: the
owner's lock is gone, SIGKILL included), so a crash costs one scan interval, not a lease.
The offset moves on only after the updates before it were accepted; a crash between the two
re-reads them and `Inbound.receipt` (the update_id) drops what was already accepted. So
nothing is lost and nothing is accepted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import timedelta

from unihub.channels.errors import DeliveryError
from unihub.channels.registry import TELEGRAM
from unihub.channels.telegram import repository as repo
from unihub.channels.telegram.adapter import polls
from unihub.channels.types import ChannelId
from unihub.core.context import AppContext
from unihub.core.timestamps import utcnow
from unihub.delivery.engine import EngineRuntime
from unihub.inbound.endpoints import _accept_all
from unihub.integrations import loaded as integrations
from unihub.integrations.loaded import LoadedIntegration

log = logging.getLogger("unihub.inbound.telegram")


class TelegramPolling:
    def __init__(self, ctx: AppContext, engine: EngineRuntime) -> None:
        self.ctx = ctx
        self.engine = engine
        self.holder = f"{socket.gethostname()}:{os.getpid()}"[:128]
        self.lease = timedelta(seconds=ctx.settings.telegram_poll_lease_s)
        self.scan_s = min(5.0, ctx.settings.telegram_poll_lease_s / 3)
        self._pollers: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._main: asyncio.Task[None] | None = None

    @property
    def owner(self) -> uuid.UUID:
        # The delivery worker's owner id: its liveness lock tells others we are gone.
        return self.engine.worker.owners.id

    async def start(self) -> None:
        self._main = asyncio.create_task(self._scan_forever(), name="telegram-polling")

    async def stop(self) -> None:
        tasks = [t for t in (self._main, *self._pollers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for integration_id in list(self._pollers):
            with contextlib.suppress(Exception):
                await repo.release(self.ctx.db, integration_id, self.owner)
        self._pollers.clear()

    async def _scan_forever(self) -> None:
        while True:
            try:
                await self.scan()
            except Exception:
                log.exception("scanning Telegram integrations to poll failed")
            await asyncio.sleep(self.scan_s)

    async def scan(self) -> None:
        for done in [i for i, t in self._pollers.items() if t.done()]:
            del self._pollers[done]
        async with self.ctx.db.read() as s:
            found = await integrations.active_of_channel(s, ChannelId.Telegram)
        for integration in found:
            if integration.id in self._pollers or not polls(integration.configuration):
                continue
            offset = await self._claim(integration.id)
            if offset is not None:
                self._pollers[integration.id] = asyncio.create_task(
                    self._poll(integration.id, offset), name=f"telegram-poll-{integration.id}"
                )

    async def _claim(self, integration_id: uuid.UUID) -> int | None:
        now = utcnow()
        offset = await repo.claim(
            self.ctx.db, integration_id, self.owner, self.holder, now, now + self.lease
        )
        if offset is not None:
            return offset
        state = await repo.poll_state(self.ctx.db, integration_id)
        owner = state.owner if state is not None else None
        if owner is None or owner == self.owner:
            return None
        if not await self.engine.worker.owners.is_dead(owner):
            return None
        log.info("taking over polling %s from a dead process", integration_id)
        return await repo.claim(
            self.ctx.db, integration_id, self.owner, self.holder, now, now + self.lease, owner
        )

    async def _current(self, integration_id: uuid.UUID) -> LoadedIntegration | None:
        async with self.ctx.db.read() as s:
            integration = await integrations.load_for_provider(
                s, ChannelId.Telegram, integration_id
            )
        if integration is None or not integration.active or not polls(integration.configuration):
            return None
        return integration

    async def _poll(self, integration_id: uuid.UUID, offset: int) -> None:
        wait_s = self.ctx.settings.telegram_poll_timeout_s
        try:
            while True:
                integration = await self._current(integration_id)
                now = utcnow()
                if integration is None or not await repo.renew(
                    self.ctx.db, integration_id, self.owner, now, now + self.lease
                ):
                    return  # paused, deleted, or another process holds it now
                account = integration.account(self.ctx.box)
                try:
                    updates = await TELEGRAM.get_updates(self.ctx, account, offset, wait_s)
                except DeliveryError as exc:
                    log.warning("getUpdates for %s failed: %s", integration_id, exc)
                    await asyncio.sleep(min(self.scan_s, float(wait_s) or 1.0))
                    continue
                if not updates:
                    continue
                if await self._current(integration_id) is None:
                    return  # paused meanwhile: Telegram keeps them until a later offset
                offset = await self._accept(integration, updates, offset)
                now = utcnow()
                if not await repo.renew(
                    self.ctx.db, integration_id, self.owner, now, now + self.lease, offset
                ):
                    return
        finally:
            if not _cancelled():
                with contextlib.suppress(Exception):
                    await repo.release(self.ctx.db, integration_id, self.owner)

    async def _accept(
        self, integration: LoadedIntegration, updates: list[dict[str, object]], offset: int
    ) -> int:
        """Accept updates in order; the offset after the last one accepted (a failure that
        is not a refusal, e.g. the database, stops here: they are read again next time)."""
        account = integration.account(self.ctx.box)
        for raw in sorted(updates, key=_update_id):
            update = await TELEGRAM.read_update(self.ctx, account, raw)
            if update.update_id is None:
                continue
            if update.update_id < offset:
                continue
            try:
                await _accept_all(
                    self.ctx, self.engine, integration, update.messages, keep_going=True
                )
            except Exception:
                log.exception("accepting Telegram update %s failed", update.update_id)
                break
            if update.callback_query_id is not None:
                await TELEGRAM.answer_callback(self.ctx, account, update.callback_query_id)
            offset = update.update_id + 1
        return offset


def _update_id(update: dict[str, object]) -> int:
    value = update.get("update_id")
    return value if isinstance(value, int) else 0


def _cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
