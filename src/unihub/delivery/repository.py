"""Outbox queries: claim due rows in order, record outcomes, list failures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from unihub.core.prepared import Prepared
from unihub.delivery.models import DELIVERED, FAILED, PENDING, Delivery

_TABLE = cast(Table, Delivery.__table__)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: uuid.UUID
    hub_id: uuid.UUID
    conversation_id: uuid.UUID
    receiver_id: uuid.UUID
    channel: str
    payload: str
    attempts: int
    binding: str | None


def _claim_statement(*, by_receiver: bool, skip_locked: bool) -> Any:
    """Lease up to `limit` due rows, each the oldest pending one of its (conversation,
    receiver) pair, so a pair never has two rows in flight nor a row overtaking an older one.

    The outer UPDATE re-checks the lease, so two workers racing for a row cannot both win.
    Claiming counts as an attempt: an attempt cut off by a crash is a failed attempt.
    """
    when = _TABLE.c.next_attempt_at.type
    now = bindparam("b_now", type_=when)
    older = aliased(Delivery)
    older_pending = exists().where(
        older.conversation_id == Delivery.conversation_id,
        older.receiver_id == Delivery.receiver_id,
        older.status == PENDING,
        older.seq < Delivery.seq,
    )
    free = or_(Delivery.leased_until.is_(None), Delivery.leased_until < now)
    due = (
        select(Delivery.id)
        .where(
            Delivery.status == PENDING,
            Delivery.channel == bindparam("b_channel"),
            Delivery.next_attempt_at <= now,
            free,
            ~older_pending,
        )
        .order_by(Delivery.next_attempt_at, Delivery.seq)
        .limit(bindparam("b_limit", type_=Integer))
    )
    if by_receiver:
        due = due.where(Delivery.receiver_id.in_(bindparam("b_receivers", expanding=True)))
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.status == PENDING, free)
        .values(
            leased_until=bindparam("b_lease_until", type_=when),
            leased_by=bindparam("b_owner", type_=_TABLE.c.leased_by.type),
            attempts=Delivery.attempts + 1,
        )
        .returning(
            Delivery.id,
            Delivery.hub_id,
            Delivery.conversation_id,
            Delivery.receiver_id,
            Delivery.channel,
            Delivery.payload,
            Delivery.attempts,
            Delivery.binding,
        )
        .execution_options(synchronize_session=False)
    )


# Built once: constructing this expression cost more CPU than running it. Prepared: the
# claim runs several times per delivered activity, and SQLAlchemy's execute path was 2.5 of
# its 2.7 s at 100 activities/s (profiled); the by-receiver claims (an expanding IN list)
# take the ordinary path.
_CLAIM = {
    (by_receiver, skip_locked): Prepared(
        _claim_statement(by_receiver=by_receiver, skip_locked=skip_locked)
    )
    for by_receiver in (False, True)
    for skip_locked in (False, True)
}


def claim(
    s: Session,
    *,
    now: datetime,
    lease_until: datetime,
    owner: uuid.UUID,
    channel: str,
    limit: int,
    receivers: Sequence[uuid.UUID] | None = None,
    skip_locked: bool = False,
) -> list[Claimed]:
    """See `_claim_statement`."""
    params: dict[str, Any] = {
        "b_now": now,
        "b_lease_until": lease_until,
        "b_owner": owner,
        "b_channel": channel,
        "b_limit": limit,
    }
    if receivers is not None:
        params["b_receivers"] = list(receivers)
    stmt = _CLAIM[(receivers is not None, skip_locked)]
    if receivers is not None:
        return [Claimed(*row) for row in s.execute(stmt.statement, params).all()]
    return [Claimed(*row) for row in stmt.returning_all(s, params)]


def _set(s: Session, delivery_id: uuid.UUID, **values: Any) -> None:
    """Record one row's outcome (a bulk UPDATE: no ORM identity map to keep in step). The
    outcome writes take a sync session: the worker records them through `Database.transact`."""
    s.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


_DELIVERED_MANY = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"))
    .values(
        status=DELIVERED,
        leased_until=None,
        delivered_at=bindparam("at", type_=_TABLE.c.delivered_at.type),
        last_status_code=bindparam("code", type_=_TABLE.c.last_status_code.type),
        last_error=None,
    )
)


def delivered_many(s: Session, rows: Sequence[tuple[uuid.UUID, datetime, int | None]]) -> None:
    """`delivered` for many rows in one statement: (id, delivered at, HTTP status)."""
    if rows:
        params = [{"row_id": i, "at": at, "code": code} for i, at, code in rows]
        s.execute(_DELIVERED_MANY, params)


def retry_later(
    s: Session,
    delivery_id: uuid.UUID,
    next_at: datetime,
    error: str,
    status_code: int | None,
) -> None:
    _set(
        s,
        delivery_id,
        leased_until=None,
        next_attempt_at=next_at,
        last_error=error,
        last_status_code=status_code,
    )


def give_up(
    s: Session, delivery_id: uuid.UUID, now: datetime, error: str, status_code: int | None
) -> None:
    _set(
        s,
        delivery_id,
        status=FAILED,
        leased_until=None,
        failed_at=now,
        last_error=error,
        last_status_code=status_code,
    )


def release(s: Session, delivery_id: uuid.UUID) -> None:
    """Hand a claimed row back untouched (no socket took it, or its sending never started):
    it is not a failed attempt."""
    _set(s, delivery_id, leased_until=None, attempts=Delivery.attempts - 1)


async def lease_holders(s: AsyncSession, now: datetime) -> list[uuid.UUID]:
    """The owners of leases still running (pending rows only: the outbox's live part)."""
    stmt = (
        select(Delivery.leased_by)
        .where(
            Delivery.status == PENDING,
            Delivery.leased_until > now,
            Delivery.leased_by.is_not(None),
        )
        .distinct()
    )
    return [owner for owner in (await s.execute(stmt)).scalars() if owner is not None]


async def take_back(s: AsyncSession, owner: uuid.UUID) -> int:
    """End a dead owner's leases: its rows are due again at once. The attempt it was making
    stays counted (an attempt cut off by a crash is a failed attempt)."""
    result = await s.execute(
        update(Delivery)
        .where(Delivery.leased_by == owner, Delivery.status == PENDING)
        .values(leased_until=None, leased_by=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def count_failed(s: AsyncSession, tenant_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(Delivery.tenant_id == tenant_id, Delivery.status == FAILED)
    return int((await s.execute(stmt)).scalar_one())


async def page_failed(
    s: AsyncSession, tenant_id: uuid.UUID, offset: int, limit: int
) -> list[Delivery]:
    stmt = (
        select(Delivery)
        .where(Delivery.tenant_id == tenant_id, Delivery.status == FAILED)
        .order_by(Delivery.created, Delivery.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await s.execute(stmt)).scalars())


async def get(s: AsyncSession, delivery_id: uuid.UUID) -> Delivery | None:
    return await s.get(Delivery, delivery_id)
