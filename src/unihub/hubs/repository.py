from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.hubs.models import Hub


async def get(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> Hub | None:
    stmt = select(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id)
    return (await s.execute(stmt)).scalar_one_or_none()


async def add(s: AsyncSession, hub: Hub) -> None:
    s.add(hub)
    await s.flush()


async def update_fields(s: AsyncSession, hub: Hub, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(hub, key, value)
    await s.flush()


async def remove(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID) -> bool:
    result = await s.execute(delete(Hub).where(Hub.id == hub_id, Hub.tenant_id == tenant_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def count(s: AsyncSession, tenant_id: uuid.UUID) -> int:
    return int(
        (
            await s.execute(select(func.count()).select_from(Hub).where(Hub.tenant_id == tenant_id))
        ).scalar_one()
    )


async def page(s: AsyncSession, tenant_id: uuid.UUID, offset: int, limit: int) -> list[Hub]:
    stmt = (
        select(Hub)
        .where(Hub.tenant_id == tenant_id)
        .order_by(Hub.created, Hub.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await s.execute(stmt)).scalars())
