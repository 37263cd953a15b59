"""Command queries, all on an `AsyncSession`: the engine reads commands inside its own
sessions (`find_by_name`, `list_for_hub`), and no command route is a measured hot path."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.commands.models import ResponseCommand, TransferCommand

C = TypeVar("C", TransferCommand, ResponseCommand)


async def get(
    s: AsyncSession,
    model: type[C],
    tenant_id: uuid.UUID,
    command_id: uuid.UUID,
    *,
    lock: bool = False,
) -> C | None:
    """The tenant's command; `lock` takes a row lock (PostgreSQL) until the transaction ends.

    On SQLite a write transaction already holds the database write lock (BEGIN IMMEDIATE).
    """
    stmt = select(model).where(model.id == command_id, model.tenant_id == tenant_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalar_one_or_none()


async def add(s: AsyncSession, command: TransferCommand | ResponseCommand) -> None:
    s.add(command)
    await s.flush()


async def update_fields(
    s: AsyncSession, command: TransferCommand | ResponseCommand, values: dict[str, Any]
) -> None:
    for key, value in values.items():
        setattr(command, key, value)
    await s.flush()


async def remove(
    s: AsyncSession, model: type[C], tenant_id: uuid.UUID, command_id: uuid.UUID
) -> bool:
    result = await s.execute(
        delete(model).where(model.id == command_id, model.tenant_id == tenant_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_for_hub(s: AsyncSession, model: type[C], hub_id: uuid.UUID) -> list[C]:
    stmt = select(model).where(model.hub_id == hub_id).order_by(model.created, model.id)
    return list((await s.execute(stmt)).scalars())


async def find_by_name(
    s: AsyncSession, model: type[C], hub_id: uuid.UUID, name_key: str
) -> C | None:
    stmt = select(model).where(model.hub_id == hub_id, model.name_key == name_key)
    return (await s.execute(stmt)).scalar_one_or_none()
