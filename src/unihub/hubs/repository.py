from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from unihub.core.database import Database
from unihub.hubs.models import Hub, HubCount

# Plain column reads: rows, not ORM objects, on the hot read paths (no identity map).
_COLUMNS = tuple(Hub.__table__.c)


async def get(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Hub | None:
    stmt = select(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id)
    return (await s.execute(stmt)).scalar_one_or_none()


# Built once: GET hub is the hottest read, and building a select costs more than running it.
_BY_ID = select(*_COLUMNS).where(Hub.id == bindparam("hub_id"), Hub.tenant_id == bindparam("tid"))


async def get_row(db: Database, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Row[Any] | None:
    return await db.fetch_first(_BY_ID, {"hub_id": hub_id, "tid": tenant_id})


# Writes are synchronous: they run inside `Database.transact` (see there for why).


def find_for_update(s: Session, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Hub | None:
    stmt = select(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id)
    return s.execute(stmt).scalar_one_or_none()


_INSERT = insert(Hub)


def add(s: Session, hub: Hub) -> None:
    """Insert a fully built (transient) hub; a Core insert skips the unit-of-work flush."""
    s.execute(_INSERT, {c.key: getattr(hub, c.key) for c in _COLUMNS})
    _add_to_count(s, hub.tenant_id, 1)


def update_fields(s: Session, hub: Hub, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(hub, key, value)
    s.flush()


def remove(s: Session, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> bool:
    result = s.execute(delete(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    _add_to_count(s, tenant_id, -1)
    return True


def _upserts(dialect: Any) -> tuple[Any, Any]:
    """(add delta, set exact) upserts of a tenant's count, built once per dialect.

    One statement each, so a tenant's first hubs race no read-then-insert.
    """
    base = dialect.insert(HubCount).values(tenant_id=bindparam("tid"), hubs=bindparam("new"))
    key = [HubCount.tenant_id]
    return (
        base.on_conflict_do_update(
            index_elements=key, set_={"hubs": HubCount.hubs + bindparam("delta")}
        ),
        base.on_conflict_do_update(index_elements=key, set_={"hubs": bindparam("new")}),
    )


_UPSERTS = {"postgresql": _upserts(postgresql), "sqlite": _upserts(sqlite)}


def _add_to_count(s: Session, tenant_id: uuid.UUID, delta: int) -> None:
    add = _UPSERTS[s.get_bind().dialect.name][0]
    s.execute(add, {"tid": tenant_id, "new": max(delta, 0), "delta": delta})


def _count_stmt(tenant_id: uuid.UUID) -> Select[int]:
    return select(HubCount.hubs).where(HubCount.tenant_id == tenant_id)


def recount(s: Session, tenant_id: uuid.UUID) -> int:
    """Count the tenant's hubs and store the result (after bulk loads that bypass `add`)."""
    counted = s.execute(select(func.count()).select_from(Hub).where(Hub.tenant_id == tenant_id))
    exact = int(counted.scalar_one())
    exact_stmt = _UPSERTS[s.get_bind().dialect.name][1]
    s.execute(exact_stmt, {"tid": tenant_id, "new": exact})
    return exact


async def page(
    db: Database, tenant_id: uuid.UUID, offset: int, limit: int
) -> tuple[int, Sequence[Row[Any]]]:
    """The tenant's hub count and one page in (created, id) order, from one snapshot.

    The offset is walked on the (tenant_id, created, id) index alone (a deferred join), so a
    deep page reads index entries up to its start and then only its own rows from the table.
    """
    keys = (
        select(Hub.id)
        .where(Hub.tenant_id == tenant_id)
        .order_by(Hub.created, Hub.id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    rows = select(*_COLUMNS).join(keys, Hub.id == keys.c.id).order_by(Hub.created, Hub.id)
    counted, found = await db.fetch(_count_stmt(tenant_id), rows)
    return (int(counted[0][0]) if counted else 0), found
