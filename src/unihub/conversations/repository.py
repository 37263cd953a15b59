from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Connection,
    Table,
    and_,
    bindparam,
    case,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from unihub.activities.models import StoredActivity
from unihub.conversations.control import Control
from unihub.conversations.models import CLOSED, OPEN, Conversation, InboundReceipt
from unihub.core.prepared import Prepared, column_keys, detached, model_columns
from unihub.hubs.models import Hub
from unihub.integrations import loaded as integrations
from unihub.integrations.loaded import LoadedIntegration


async def get(
    s: AsyncSession, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation | None:
    stmt = select(Conversation).where(
        Conversation.id == conversation_id, Conversation.tenant_id == tenant_id
    )
    return (await s.execute(stmt)).scalar_one_or_none()


_WITH_HUB = Prepared(
    select(*model_columns(Conversation), *model_columns(Hub))
    .select_from(Conversation)
    .outerjoin(Hub, and_(Hub.id == Conversation.hub_id, Hub.tenant_id == Conversation.tenant_id))
    .where(
        Conversation.id == bindparam("conversation_id"),
        Conversation.tenant_id == bindparam("tenant_id"),
    )
)


def get_with_hub(
    conn: Connection, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> tuple[Conversation | None, Hub | None]:
    """The conversation and its hub (None when deleted) in one round trip: the accept path.
    Plain rows made into detached objects (`core.prepared.detached`): no ORM loading."""
    params = {"conversation_id": conversation_id, "tenant_id": tenant_id}
    rows = _WITH_HUB.rows_in(conn, params)
    if not rows:
        return None, None
    values = tuple(rows[0])
    n = len(column_keys(Conversation))
    conversation = detached(Conversation, values[:n])
    if values[n] is None:  # hubs.id: the outer join found no hub
        return conversation, None
    return conversation, detached(Hub, values[n:])


def for_activity(
    conn: Connection, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> tuple[Conversation | None, Hub | None, list[LoadedIntegration]]:
    """What accepting an activity or a control change reads first: the conversation, its hub
    (None when deleted) and the hub's integrations. For `Database.read_sync` (inline on
    SQLite: no helper-thread round trips)."""
    conversation, hub = get_with_hub(conn, tenant_id, conversation_id)
    if conversation is None or hub is None:
        return conversation, hub, []
    return conversation, hub, integrations.of_hub(conn, conversation.hub_id)


async def open_of_hub(
    s: AsyncSession,
    tenant_id: uuid.UUID,
    hub_id: uuid.UUID,
    limit: int,
    controlled_by: str | uuid.UUID | None = None,
) -> list[Conversation]:
    """`controlled_by`: a control kind ("bot", "agents", "agent") or one integration's id."""
    stmt = select(Conversation).where(
        Conversation.tenant_id == tenant_id,
        Conversation.hub_id == hub_id,
        Conversation.status == OPEN,
    )
    if isinstance(controlled_by, uuid.UUID):
        stmt = stmt.where(Conversation.control_integration_id == controlled_by)
    elif controlled_by is not None:
        stmt = stmt.where(Conversation.control_kind == controlled_by)
    stmt = stmt.order_by(Conversation.last_activity_at.desc(), Conversation.id).limit(limit)
    return list((await s.execute(stmt)).scalars())


async def get_open(s: AsyncSession, open_key: str) -> Conversation | None:
    stmt = select(Conversation).where(Conversation.open_key == open_key)
    return (await s.execute(stmt)).scalar_one_or_none()


async def hub(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Hub | None:
    stmt = select(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id)
    return (await s.execute(stmt)).scalar_one_or_none()


# Built once: constructing the expression cost more than running it on the hot path.
_NOW_MS = bindparam("now_ms", type_=BigInteger)
_NEXT_EVENT = Prepared(
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"), Conversation.status == OPEN)
    .values(
        last_seq=Conversation.last_seq + 1,
        last_event_id=case(
            (Conversation.last_event_id + 1 > _NOW_MS, Conversation.last_event_id + 1),
            else_=_NOW_MS,
        ),
        last_activity_at=bindparam("now", type_=Conversation.__table__.c.last_activity_at.type),
    )
    .returning(
        Conversation.last_seq,
        Conversation.last_event_id,
        Conversation.control_kind,
        Conversation.control_integration_id,
        Conversation.control_start_id,
        Conversation.control_since,
    )
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True, slots=True)
class Taken:
    """The next (seq, eventId) and the conversation's control as locked by taking them."""

    seq: int
    event_id: int
    control: Control | None


def next_event(s: Session, conversation_id: uuid.UUID, now: datetime, now_ms: int) -> Taken | None:
    """Take the next (seq, eventId) of an open conversation; None when it is closed.

    The UPDATE holds the conversation's row lock until commit, so activities of one
    conversation commit in sequence order (their deliveries can never appear out of order),
    and the control it returns cannot change before this transaction ends: routing decided
    from it is the routing of record.
    """
    params = {"conversation_id": conversation_id, "now": now, "now_ms": now_ms}
    row = _NEXT_EVENT.returning_first(s, params)
    if row is None:
        return None
    kind = row[2]
    control = Control(kind, row[3], row[4], row[5]) if kind else None
    return Taken(int(row[0]), int(row[1]), control)


def add_receipt(s: Session, integration_id: uuid.UUID, event_key: str, now: datetime) -> bool:
    """Record a provider event as accepted; False when it already was (a redelivery)."""
    insert_into = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert_into(InboundReceipt)
        .values(integration_id=integration_id, event_key=event_key, created=now)
        .on_conflict_do_nothing()
    )
    result = s.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def purge_receipts(s: AsyncSession, before: datetime) -> int:
    result = await s.execute(delete(InboundReceipt).where(InboundReceipt.created < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


def set_control(s: Session, conversation_id: uuid.UUID, control: Control) -> None:
    s.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(
            control_kind=control.kind,
            control_integration_id=control.integration_id,
            control_start_id=control.start_id,
            control_since=control.since,
        )
        .execution_options(synchronize_session=False)
    )


_ADD_ACTIVITY = Prepared(insert(cast(Table, StoredActivity.__table__)))


def add_activity(s: Session, activity: dict[str, Any]) -> None:
    """Insert an activity (column values), skipping the ORM unit of work."""
    _ADD_ACTIVITY.execute(s, activity)


# Closing ends control (the starting bot stays, as history).
_CLOSE = {
    "status": CLOSED,
    "open_key": None,
    "control_kind": None,
    "control_integration_id": None,
    "control_since": None,
}


async def close(s: AsyncSession, conversation_id: uuid.UUID, now: datetime) -> None:
    await s.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status == OPEN)
        .values(**_CLOSE, closed_at=now)
        .execution_options(synchronize_session=False)
    )


async def close_for_hub(s: AsyncSession, hub_id: uuid.UUID, now: datetime) -> int:
    result = await s.execute(
        update(Conversation)
        .where(Conversation.hub_id == hub_id, Conversation.status == OPEN)
        .values(**_CLOSE, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def dormant_hubs(s: AsyncSession) -> list[tuple[uuid.UUID, int]]:
    stmt = select(Hub.id, Hub.close_dormant_conversation).where(Hub.close_dormant_conversation > 0)
    return [(row[0], int(row[1] or 0)) for row in (await s.execute(stmt)).all()]


async def close_idle(s: AsyncSession, hub_id: uuid.UUID, days: int, now: datetime) -> int:
    result = await s.execute(
        update(Conversation)
        .where(
            Conversation.hub_id == hub_id,
            Conversation.status == OPEN,
            Conversation.last_activity_at < now - timedelta(days=days),
        )
        .values(**_CLOSE, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


_SIDES = {
    "Customer": StoredActivity.side_customer,
    "Agent": StoredActivity.side_agent,
    "Bot": StoredActivity.side_bot,
}


async def activities_after(
    s: AsyncSession, conversation_id: uuid.UUID, side: str, leid: int, limit: int
) -> list[str]:
    stmt = (
        select(StoredActivity.body)
        .where(
            StoredActivity.conversation_id == conversation_id,
            StoredActivity.event_id > leid,
            _SIDES[side].is_(True),
        )
        .order_by(StoredActivity.seq)
        .limit(limit)
    )
    return list((await s.execute(stmt)).scalars())
