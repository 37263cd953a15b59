"""Hub queries. Each function takes the one kind of handle its callers hold, and no other:

- `Database`: the API's reads, `get_row` (GET hub, and every other domain's hub check via
  `hubs.service.require`) and `page`. They are the hottest reads: `fetch_first` on a
  prepared statement and `read_sync` run inline on SQLite (see BENCHMARKS.md).
- a synchronous ORM `Session`: every write, `add`, `update_fields`, `remove` and `recount`.
  POST and PUT hub run them in `Database.transact` (inline on SQLite, also measured); DELETE
  runs `remove` through `run_sync` inside `Database.write()`, because the deletion hooks of
  other domains are async and must share its transaction.
- `AsyncSession`: `get`, for other domains that read a hub inside a session of their own.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, delete, func, insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from unihub.core.database import Database
from unihub.core.prepared import Prepared
from unihub.hubs.models import Hub, HubCount

# Plain column reads: rows, not ORM objects, on the hot read paths (no identity map).
_COLUMNS = tuple(Hub.__table__.c)


def _scoped(tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Select[Hub]:
    return select(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id)


async def get(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Hub | None:
    return (await s.execute(_scoped(tenant_id, hub_id))).scalar_one_or_none()


# Built once: GET hub is the hottest read, and building a select costs more than running it.
_BY_ID = Prepared(
    select(*_COLUMNS).where(Hub.id == bindparam("hub_id"), Hub.tenant_id == bindparam("tid"))
)


async def get_row(db: Database, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Row[Any] | None:
    return await db.fetch_first(_BY_ID, {"hub_id": hub_id, "tid": tenant_id})


# Writes are synchronous: they run inside `Database.transact` (see there for why).


_INSERT = Prepared(insert(Hub))


def add(s: Session, hub: Hub) -> None:
    """Insert a fully built (transient) hub; a Core insert skips the unit-of-work flush."""
    _INSERT.execute(s, {c.key: getattr(hub, c.key) for c in _COLUMNS})
    _add_to_count(s, hub.tenant_id, 1)


def update_fields(
    s: Session, tenant_id: uuid.UUID, hub_id: uuid.UUID, values: dict[str, Any]
) -> Hub | None:
    """The tenant's hub with `values` applied, or None when it is not there (any more)."""
    hub = s.execute(_scoped(tenant_id, hub_id)).scalar_one_or_none()
    if hub is None:
        return None
    for key, value in values.items():
        setattr(hub, key, value)
    s.flush()
    return hub


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
    base = dialect.insert(HubCount).values(
        tenant_id=bindparam("tid"), hubs=bindparam("new"), changes=1
    )
    key = [HubCount.tenant_id]
    bumped = HubCount.changes + 1
    return (
        base.on_conflict_do_update(
            index_elements=key,
            set_={"hubs": HubCount.hubs + bindparam("delta"), "changes": bumped},
        ),
        base.on_conflict_do_update(
            index_elements=key, set_={"hubs": bindparam("new"), "changes": bumped}
        ),
    )


_UPSERTS = {"postgresql": _upserts(postgresql), "sqlite": _upserts(sqlite)}
_ADD_TO_COUNT = {name: Prepared(add) for name, (add, _) in _UPSERTS.items()}


def _add_to_count(s: Session, tenant_id: uuid.UUID, delta: int) -> None:
    add = _ADD_TO_COUNT[s.get_bind().dialect.name]
    add.execute(s, {"tid": tenant_id, "new": max(delta, 0), "delta": delta})


def recount(s: Session, tenant_id: uuid.UUID) -> int:
    """Count the tenant's hubs and store the result (after bulk loads that bypass `add`)."""
    counted = s.execute(select(func.count()).select_from(Hub).where(Hub.tenant_id == tenant_id))
    exact = int(counted.scalar_one())
    exact_stmt = _UPSERTS[s.get_bind().dialect.name][1]
    s.execute(exact_stmt, {"tid": tenant_id, "new": exact})
    return exact


# Pages: a (created, id) order over the tenant's hubs. An OFFSET walks index entries one by
# one (measured: ~9 ms to reach 100,000 on SQLite), so deep pages start from an anchor: the
# key of every ANCHOR_EVERY-th hub, computed once per version of the tenant's hub set (the
# `changes` counter read in the same snapshot) and cached per process, so a cache never
# serves a stale order. The walk from an anchor is then at most ANCHOR_EVERY entries.
ANCHOR_EVERY = 100
DEEP_OFFSET = 1_000  # below this, walking the index is as cheap as using an anchor
_ANCHOR_TENANTS = 256
_anchors: OrderedDict[uuid.UUID, tuple[int, list[tuple[Any, Any]]]] = OrderedDict()

_COUNT = select(HubCount.hubs, HubCount.changes).where(HubCount.tenant_id == bindparam("tid"))


def _page_stmt(from_anchor: bool) -> Select[Any]:
    """Deferred join: the page's ids from the (tenant_id, created, id) index, then its rows."""
    keys = select(Hub.id).where(Hub.tenant_id == bindparam("tid"))
    if from_anchor:
        start = tuple_(
            bindparam("created", type_=Hub.created.type), bindparam("id", type_=Hub.id.type)
        )
        keys = keys.where(tuple_(Hub.created, Hub.id) >= start)
    ordered = keys.order_by(Hub.created, Hub.id).offset(bindparam("skip"))
    sub = ordered.limit(bindparam("limit")).subquery()
    return select(*_COLUMNS).join(sub, Hub.id == sub.c.id).order_by(Hub.created, Hub.id)


_PAGE = _page_stmt(from_anchor=False)
_PAGE_FROM_ANCHOR = _page_stmt(from_anchor=True)
_numbered = select(
    Hub.created, Hub.id, func.row_number().over(order_by=(Hub.created, Hub.id)).label("n")
).where(Hub.tenant_id == bindparam("tid"))
_ranked = _numbered.subquery()
_ANCHORS = (
    select(_ranked.c.created, _ranked.c.id)
    .where((_ranked.c.n - 1) % bindparam("every") == 0)
    .order_by(_ranked.c.n)
)


def _anchors_for(conn: Connection, tenant_id: uuid.UUID, version: int) -> list[tuple[Any, Any]]:
    cached = _anchors.get(tenant_id)
    if cached is not None and cached[0] == version:
        _anchors.move_to_end(tenant_id)
        return cached[1]
    params = {"tid": tenant_id, "every": ANCHOR_EVERY}
    keys = [(r[0], r[1]) for r in conn.execute(_ANCHORS, params)]
    _anchors[tenant_id] = (version, keys)
    if len(_anchors) > _ANCHOR_TENANTS:
        _anchors.popitem(last=False)
    return keys


def _page_sync(
    conn: Connection, tenant_id: uuid.UUID, offset: int, limit: int
) -> tuple[int, Sequence[Row[Any]]]:
    counted = conn.execute(_COUNT, {"tid": tenant_id}).first()
    total, version = (int(counted[0]), int(counted[1])) if counted else (0, 0)
    if offset >= total:
        return total, []
    if offset < DEEP_OFFSET:
        params = {"tid": tenant_id, "skip": offset, "limit": limit}
        return total, conn.execute(_PAGE, params).all()
    created, hub_id = _anchors_for(conn, tenant_id, version)[offset // ANCHOR_EVERY]
    params = {
        "tid": tenant_id,
        "created": created,
        "id": hub_id,
        "skip": offset % ANCHOR_EVERY,
        "limit": limit,
    }
    return total, conn.execute(_PAGE_FROM_ANCHOR, params).all()


async def page(
    db: Database, tenant_id: uuid.UUID, offset: int, limit: int
) -> tuple[int, Sequence[Row[Any]]]:
    """The tenant's hub count and one page in (created, id) order, from one snapshot."""
    return await db.read_sync(lambda conn: _page_sync(conn, tenant_id, offset, limit))
