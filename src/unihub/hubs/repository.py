from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

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


async def add(s: AsyncSession, hub: Hub) -> None:
    s.add(hub)
    await s.flush()
    await _add_to_count(s, hub.tenant_id, 1)


async def update_fields(s: AsyncSession, hub: Hub, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(hub, key, value)
    await s.flush()


async def remove(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> bool:
    result = await s.execute(delete(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    await _add_to_count(s, tenant_id, -1)
    return True


async def _add_to_count(s: AsyncSession, tenant_id: uuid.UUID, delta: int) -> None:
    await _upsert_count(s, tenant_id, max(delta, 0), HubCount.hubs + delta)


async def _upsert_count(s: AsyncSession, tenant_id: uuid.UUID, new: int, existing: Any) -> None:
    """Insert-or-update in one statement: a tenant's first hubs race no read-then-insert."""
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(HubCount).values(tenant_id=tenant_id, hubs=new)
    stmt = stmt.on_conflict_do_update(index_elements=[HubCount.tenant_id], set_={"hubs": existing})
    await s.execute(stmt)


def _count_stmt(tenant_id: uuid.UUID) -> Select[int]:
    return select(HubCount.hubs).where(HubCount.tenant_id == tenant_id)


async def recount(s: AsyncSession, tenant_id: uuid.UUID) -> int:
    """Count the tenant's hubs and store the result (after bulk loads that bypass `add`)."""
    exact = int(
        (
            await s.execute(select(func.count()).select_from(Hub).where(Hub.tenant_id == tenant_id))
        ).scalar_one()
    )
    await _upsert_count(s, tenant_id, exact, exact)
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
