"""The delivery worker: drains the outbox to webhooks and websockets, and runs the domains'
periodic tasks (`core.tasks`).

Every process runs one. It wakes on a local or cross-process signal and also polls. Rows
leased by a process that died are taken back as soon as a live worker sees its owner lock
free (`delivery.owners`): at a restart's first iteration, else within `TAKE_BACK_EVERY`.
Each send runs in its own task; a slow receiver only holds up its own (conversation,
receiver) pairs.

Outcomes are recorded in batches: each send queues its outcome and waits until a single
transaction has written every outcome queued meanwhile (one write per batch instead of one per
delivery). A send counts as finished, and its pair's next row becomes claimable, only once its
outcome is committed; a crash before that leaves the row leased, so it is sent again after the
lease (at least once, never lost). A write that fails while the process lives (the database
briefly away) is retried until the row's lease ends, each outcome alone: waiting out the lease
instead held the pair's later rows back for the whole lease and sent the row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import aiohttp
import orjson
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from unihub.channels.base import Outgoing
from unihub.channels.errors import Rejected, Unavailable
from unihub.channels.registry import adapter_for
from unihub.core.context import AppContext
from unihub.core.http import webhook_client
from unihub.core.tasks import PeriodicTask
from unihub.core.urlguard import RefusedAddress, check_webhook_literal
from unihub.delivery import repository as repo
from unihub.delivery.clock import Clock
from unihub.delivery.models import PROVIDER, WEBHOOK, WEBSOCKET
from unihub.delivery.owners import make_owners
from unihub.delivery.repository import Claimed
from unihub.delivery.sockets import SocketHub
from unihub.delivery.webhooks import MAX_ATTEMPTS, RETRY_DELAYS, TIMEOUT_S, webhook_headers
from unihub.integrations import loaded as integrations
from unihub.integrations.loaded import LoadedIntegration

log = logging.getLogger("unihub.delivery")

TAKE_BACK_EVERY = 2.0  # seconds between looks for leases of dead processes
RECORD_RETRY_MAX_S = 2.0  # the longest wait between attempts to write a failed outcome


# A queued outcome: a write to run in the batch transaction, or ("delivered", id, at, code)
# rows, which are written together in one statement.
_Write = Callable[[Session], None]
_Delivered = tuple[uuid.UUID, datetime, int | None]
_Done = asyncio.Future[None]
# A queued outcome, the future its send waits on, and the loop time its row's lease ends:
# retrying the write after that could not keep the row from being sent again anyway.
_Queued = tuple[_Write | _Delivered, _Done, float]


def _write_outcomes(s: Session, batch: list[_Queued]) -> None:
    rows: list[_Delivered] = []
    for outcome, _, _ in batch:
        if isinstance(outcome, tuple):
            rows.append(outcome)
        else:
            outcome(s)
    repo.delivered_many(s, rows)


def _release_all(s: Session, rows: list[Claimed]) -> None:
    for row in rows:
        repo.release(s, row.id)


class DeliveryWorker:
    def __init__(
        self,
        ctx: AppContext,
        clock: Clock,
        sockets: SocketHub,
        wake: asyncio.Event,
        tasks: Sequence[PeriodicTask] = (),
        *,
        batch: int = 64,
        max_in_flight: int = 256,
    ) -> None:
        self.ctx = ctx
        self.clock = clock
        self.sockets = sockets
        self.wake = wake
        self.batch = batch
        self.max_in_flight = max_in_flight
        self._in_flight: set[asyncio.Task[None]] = set()
        self._client: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._queued: list[_Queued] = []
        self._record_wake = asyncio.Event()
        self.tasks = tuple(tasks)
        self._last_run: dict[str, datetime] = {}
        self.owners = make_owners(ctx.db.url, ctx.settings.data_dir)
        self._dead: set[uuid.UUID] = set()  # owner ids are never reused: dead stays dead
        self._last_take_back = float("-inf")

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.ctx.settings.delivery_lease_s)

    async def start(self) -> None:
        await self.owners.start()
        self._client = webhook_client(TIMEOUT_S, self.ctx.settings.allow_private_webhooks)
        self._recorder = asyncio.create_task(self._record_loop(), name="unihub-delivery-outcomes")
        self._task = asyncio.create_task(self._run(), name="unihub-delivery-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._in_flight):
            task.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._recorder is not None:
            self._recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recorder
        if self._client is not None:
            await self._client.close()
        await self.owners.stop()

    async def _record(self, outcome: _Write | _Delivered, lease_ends: float) -> None:
        """Queue an outcome and wait until it is committed (raises if it never could be)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((outcome, done, lease_ends))
        self._record_wake.set()
        await done

    async def _record_loop(self) -> None:
        failures = 0
        while True:
            await self._record_wake.wait()
            self._record_wake.clear()
            batch, self._queued = self._queued, []
            if not batch:
                continue
            try:
                # Inline on SQLite, like the claim: no helper-thread round trips per batch.
                await self.ctx.db.transact(functools.partial(_write_outcomes, batch=batch))
            except asyncio.CancelledError:
                for _, done, _ in batch:
                    done.cancel()
                raise
            except Exception as exc:
                failures += 1
                log.warning("recording %d delivery outcomes failed: %s", len(batch), exc)
                await self._record_alone(batch)
            else:
                failures = 0
                for _, done, _ in batch:
                    if not done.done():
                        done.set_result(None)
            if self._queued:  # failed outcomes back in the queue: wait a little, growing
                if failures:
                    await asyncio.sleep(min(RECORD_RETRY_MAX_S, 0.05 * 2**failures))
                self._record_wake.set()

    async def _record_alone(self, batch: list[_Queued]) -> None:
        """Write each outcome of a failed batch in its own transaction, so one that cannot be
        written does not fail the others; queue those that fail again while their lease runs."""
        loop = asyncio.get_running_loop()
        for item in batch:
            _, done, lease_ends = item
            if done.done():
                continue
            try:
                await self.ctx.db.transact(functools.partial(_write_outcomes, batch=[item]))
            except asyncio.CancelledError:
                done.cancel()
                raise
            except Exception as again:
                if loop.time() < lease_ends:
                    self._queued.append(item)
                else:  # the lease covers the row from here: it is sent again
                    done.set_exception(again)
            else:
                done.set_result(None)

    async def _run(self) -> None:
        poll = self.ctx.settings.delivery_poll_s
        while True:
            self.wake.clear()
            try:
                await self._maybe_take_back()
                claimed = await self.dispatch()
                await self._run_due_tasks()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be briefly away; keep the loop alive
                log.exception("delivery worker iteration failed")
                claimed = 0
            if claimed and len(self._in_flight) < self.max_in_flight:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), poll)

    async def _maybe_take_back(self) -> None:
        """End the leases of owners that died, so their rows go out now, not at lease end."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_take_back < TAKE_BACK_EVERY:
            return
        self._last_take_back = loop.time()
        await self.owners.ensure_alive()
        async with self.ctx.db.read() as s:
            holders = await repo.lease_holders(s, self.clock.now())
        for owner in holders:
            if owner == self.owners.id:
                continue
            if owner not in self._dead and not await self.owners.is_dead(owner):
                continue
            self._dead.add(owner)
            async with self.ctx.db.write() as s:
                taken = await repo.take_back(s, owner)
            if taken:
                log.info("took back %d deliveries leased by dead process %s", taken, owner)

    async def dispatch(self) -> int:
        """Claim due rows and start sending them; returns how many were claimed."""
        room = self.max_in_flight - len(self._in_flight)
        if room <= 0:
            return 0
        now = self.clock.now()
        lease_ends = asyncio.get_running_loop().time() + self.lease.total_seconds()
        skip_locked = not self.ctx.db.is_sqlite
        local = self.sockets.connected()
        owner = self.owners.id

        def claim_due(s: Session) -> list[repo.Claimed]:
            rows = repo.claim(
                s,
                now=now,
                lease_until=now + self.lease,
                owner=owner,
                channel=WEBHOOK,
                limit=min(self.batch, room),
                skip_locked=skip_locked,
            )
            if room > len(rows):
                rows += repo.claim(
                    s,
                    now=now,
                    lease_until=now + self.lease,
                    owner=owner,
                    channel=PROVIDER,
                    limit=min(self.batch, room - len(rows)),
                    skip_locked=skip_locked,
                )
            if local:
                rows += repo.claim(
                    s,
                    now=now,
                    lease_until=now + self.lease,
                    owner=owner,
                    channel=WEBSOCKET,
                    limit=self.batch,
                    receivers=local,
                    skip_locked=skip_locked,
                )
            return rows

        # Inline on SQLite: claiming through the threaded engine held the write lock across
        # several thread round trips, stalling every API write for ~200 ms once a second.
        rows = await self.ctx.db.transact(claim_due)
        if not rows:
            return 0
        ids = [r.receiver_id for r in rows]

        def load(conn: Connection) -> dict[uuid.UUID, LoadedIntegration]:
            return integrations.load_many(conn, ids)

        try:
            receivers = await self.ctx.db.read_sync(load, one_snapshot=False)
        except Exception:
            # Claimed but not started: hand the rows back now, not at the lease's end.
            with contextlib.suppress(Exception):
                await self.ctx.db.transact(functools.partial(_release_all, rows=rows))
            raise
        for row in rows:
            task = asyncio.create_task(
                self._deliver(row, receivers.get(row.receiver_id), lease_ends)
            )
            self._in_flight.add(task)
            task.add_done_callback(self._done)
        return len(rows)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self.wake.set()  # the pair's next row may be due now

    async def _deliver(
        self, row: Claimed, receiver: LoadedIntegration | None, lease_ends: float
    ) -> None:
        try:
            if row.channel == WEBSOCKET:
                await self._push(row, lease_ends)
                return
            try:
                if row.channel == PROVIDER:
                    status_code = await self._provider(row, receiver)
                else:
                    status_code = await self._post(row, receiver)
            except Rejected as exc:
                now, error, code = self.clock.now(), str(exc), exc.status_code
                await self._record(lambda s: repo.give_up(s, row.id, now, error, code), lease_ends)
                return
            except Unavailable as exc:
                await self._failed_attempt(
                    row, lease_ends, str(exc), exc.status_code, exc.retry_after_s
                )
                return
            await self._record((row.id, self.clock.now(), status_code), lease_ends)
        except asyncio.CancelledError:
            raise
        except Exception:  # the lease runs out and another attempt follows
            log.exception("delivery %s could not be recorded", row.id)

    async def _failed_attempt(
        self,
        row: Claimed,
        lease_ends: float,
        error: str,
        status_code: int | None,
        retry_after_s: float | None = None,
    ) -> None:
        now = self.clock.now()
        if row.attempts >= MAX_ATTEMPTS:
            await self._record(
                lambda s: repo.give_up(s, row.id, now, error, status_code), lease_ends
            )
            log.warning("delivery %s failed for good: %s", row.id, error)
        else:
            delay = RETRY_DELAYS[row.attempts - 1]
            if retry_after_s is not None:  # the provider said when: never sooner
                delay = max(delay, timedelta(seconds=retry_after_s))
            next_at = now + delay
            await self._record(
                lambda s: repo.retry_later(s, row.id, next_at, error, status_code), lease_ends
            )

    async def _post(self, row: Claimed, receiver: LoadedIntegration | None) -> int:
        if receiver is None:
            raise Rejected("the receiving integration no longer exists")
        if not receiver.active:
            raise Rejected("the receiving integration is paused")
        url = receiver.webhook_url
        if url is None:
            raise Rejected("the receiving integration has no webhookUrl")
        key = receiver.private_signing_key(self.ctx.box)
        if not key or not receiver.public_signing_key:
            raise Rejected("the receiving integration has no signing keys")
        refused = check_webhook_literal(url, self.ctx.settings.allow_private_webhooks)
        if refused is not None:
            raise Unavailable(refused)
        body = row.payload.encode("utf-8")
        headers = webhook_headers(
            body=body,
            private_key=key,
            public_key=receiver.public_signing_key,
            hub_id=row.hub_id,
            integration_id=row.receiver_id,
            conversation_id=row.conversation_id,
            delivery_id=row.id,
        )
        assert self._client is not None
        try:
            async with self._client.post(
                url, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()  # drain, so the connection is kept alive
                status_code = response.status
        except TimeoutError:
            raise Unavailable("the webhook did not answer within 10 seconds") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                raise Unavailable(str(exc.os_error)) from None
            raise Unavailable(f"the webhook could not be reached: {type(exc).__name__}") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise Unavailable(f"the webhook could not be reached: {type(exc).__name__}") from None
        if not 200 <= status_code < 300:
            raise Unavailable(f"the webhook answered HTTP {status_code}", status_code)
        return status_code

    async def _provider(self, row: Claimed, receiver: LoadedIntegration | None) -> int | None:
        """Twilio SMS, Messenger, Slack (their channel adapters): a provider's refusal fails
        the row at once, a provider outage is retried on the webhook schedule."""
        if receiver is None or receiver.row is None:
            raise Rejected("the receiving integration no longer exists")
        if not receiver.active:
            raise Rejected("the receiving integration is paused")
        adapter = adapter_for(receiver.channel)
        if adapter is None:
            raise Rejected(f"{receiver.channel_name} integrations have no provider sender")
        out = Outgoing(
            receiver.account(self.ctx.box),
            row.conversation_id,
            row.binding,
            orjson.loads(row.payload),
            row.id,
        )
        try:
            return await adapter.send(self.ctx, out)
        except Rejected as exc:
            log.warning("delivery %s refused by the provider: %s", row.id, exc)
            raise

    async def _push(self, row: Claimed, lease_ends: float) -> None:
        if await self.sockets.push(row.receiver_id, row.id, row.payload):
            await self._record((row.id, self.clock.now(), None), lease_ends)
        else:
            await self._record(lambda s: repo.release(s, row.id), lease_ends)

    async def _run_due_tasks(self) -> None:
        now = self.clock.now()
        for task in self.tasks:
            last = self._last_run.get(task.name)
            if last is not None and now - last < task.every:
                continue
            self._last_run[task.name] = now
            done = await task.run(self.ctx, now)
            if done:
                log.info("%s: %d", task.name, done)
