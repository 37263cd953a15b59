from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from unihub.core.database import Database
from unihub.core.prepared import Prepared
from unihub.integrations.models import Integration


async def get(
    s: AsyncSession, tenant_id: uuid.UUID, integration_id: uuid.UUID
) -> Integration | None:
    stmt = select(Integration).where(
        Integration.id == integration_id, Integration.tenant_id == tenant_id
    )
    return (await s.execute(stmt)).scalar_one_or_none()


_NAME_TAKEN = Prepared(
    select(Integration.id)
    .where(Integration.hub_id == bindparam("hub_id"), Integration.name_key == bindparam("key"))
    .limit(1)
)


async def name_taken(db: Database, hub_id: uuid.UUID, name_key: str) -> bool:
    return await db.fetch_first(_NAME_TAKEN, {"hub_id": hub_id, "key": name_key}) is not None


def add(s: Session, integration: Integration) -> None:
    """Inside `Database.transact`."""
    s.add(integration)


async def update_fields(s: AsyncSession, integration: Integration, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(integration, key, value)
    await s.flush()


async def remove(s: AsyncSession, tenant_id: uuid.UUID, integration_id: uuid.UUID) -> bool:
    result = await s.execute(
        delete(Integration).where(
            Integration.id == integration_id, Integration.tenant_id == tenant_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _scope(tenant_id: uuid.UUID, hub_id: uuid.UUID | None) -> list[Any]:
    where: list[Any] = [Integration.tenant_id == tenant_id]
    if hub_id is not None:
        where.append(Integration.hub_id == hub_id)
    return where


async def count(s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID | None) -> int:
    stmt = select(func.count()).select_from(Integration).where(*_scope(tenant_id, hub_id))
    return int((await s.execute(stmt)).scalar_one())


async def page(
    s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID | None, offset: int, limit: int
) -> list[Integration]:
    stmt = (
        select(Integration)
        .where(*_scope(tenant_id, hub_id))
        .order_by(Integration.created, Integration.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await s.execute(stmt)).scalars())


async def by_channel(
    s: AsyncSession, tenant_id: uuid.UUID, hub_id: uuid.UUID, channel_id: int
) -> list[Integration]:
    stmt = (
        select(Integration)
        .where(
            Integration.tenant_id == tenant_id,
            Integration.hub_id == hub_id,
            Integration.channel_id == channel_id,
        )
        .order_by(Integration.created, Integration.id)
    )
    return list((await s.execute(stmt)).scalars())
