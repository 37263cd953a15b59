"""Queries of Telegram's own tables (inline buttons, long-polling leases and offsets)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from unihub.channels.telegram.models import TelegramButton, TelegramPoll
from unihub.core.database import Database, is_unique_violation


async def add_buttons(db: Database, buttons: Sequence[TelegramButton]) -> None:
    async with db.write() as s:
        s.add_all(buttons)


async def button(db: Database, integration_id: uuid.UUID, key: str) -> TelegramButton | None:
    stmt = select(TelegramButton).where(
        TelegramButton.key == key, TelegramButton.integration_id == integration_id
    )
    async with db.read() as s:
        return (await s.execute(stmt)).scalar_one_or_none()


async def reply_button(
    db: Database, integration_id: uuid.UUID, chat_id: str, title: str
) -> TelegramButton | None:
    """The latest reply keyboard button of this chat with this title."""
    stmt = (
        select(TelegramButton)
        .where(
            TelegramButton.integration_id == integration_id,
            TelegramButton.chat_id == chat_id,
            TelegramButton.title == title,
        )
        .order_by(TelegramButton.created.desc())
        .limit(1)
    )
    async with db.read() as s:
        return (await s.execute(stmt)).scalars().first()


async def purge_buttons(db: Database, before: datetime) -> int:
    async with db.write() as s:
        result = await s.execute(delete(TelegramButton).where(TelegramButton.created < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def poll_state(db: Database, integration_id: uuid.UUID) -> TelegramPoll | None:
    async with db.read() as s:
        return await s.get(TelegramPoll, integration_id)


async def claim(
    db: Database,
    integration_id: uuid.UUID,
    owner: uuid.UUID,
    holder: str,
    now: datetime,
    until: datetime,
    dead_owner: uuid.UUID | None = None,
) -> int | None:
    """Take the lease when it is free, expired, ours, or `dead_owner`'s; the offset to poll
    from, or None when another process holds it. One conditional UPDATE decides races."""
    try:
        async with db.write() as s:
            if await s.get(TelegramPoll, integration_id) is None:
                s.add(
                    TelegramPoll(
                        integration_id=integration_id,
                        owner=owner,
                        holder=holder,
                        lease_until=until,
                        next_offset=0,
                        modified=now,
                    )
                )
                return 0
    except IntegrityError as exc:
        if not is_unique_violation(exc, "pk_telegram_polls", "telegram_polls.integration_id"):
            raise
    free = [
        TelegramPoll.owner.is_(None),
        TelegramPoll.owner == owner,
        TelegramPoll.lease_until.is_(None),
        TelegramPoll.lease_until < now,
    ]
    if dead_owner is not None:
        free.append(TelegramPoll.owner == dead_owner)
    async with db.write() as s:
        result = await s.execute(
            update(TelegramPoll)
            .where(TelegramPoll.integration_id == integration_id, or_(*free))
            .values(owner=owner, holder=holder, lease_until=until, modified=now)
            .returning(TelegramPoll.next_offset)
        )
        offset = result.scalar_one_or_none()
    return int(offset) if offset is not None else None


async def renew(
    db: Database,
    integration_id: uuid.UUID,
    owner: uuid.UUID,
    now: datetime,
    until: datetime,
    next_offset: int | None = None,
) -> bool:
    """Extend our lease (and move the offset on, never back); False when it is not ours."""
    values: dict[str, object] = {"lease_until": until, "modified": now}
    async with db.write() as s:
        result = await s.execute(
            update(TelegramPoll)
            .where(TelegramPoll.integration_id == integration_id, TelegramPoll.owner == owner)
            .values(**values)
        )
        if next_offset is not None:
            await s.execute(
                update(TelegramPoll)
                .where(
                    TelegramPoll.integration_id == integration_id,
                    TelegramPoll.owner == owner,
                    TelegramPoll.next_offset < next_offset,
                )
                .values(next_offset=next_offset)
            )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def release(db: Database, integration_id: uuid.UUID, owner: uuid.UUID) -> None:
    """Let another process take over at once (a clean shutdown, a paused integration)."""
    async with db.write() as s:
        await s.execute(
            update(TelegramPoll)
            .where(TelegramPoll.integration_id == integration_id, TelegramPoll.owner == owner)
            .values(owner=None, holder=None, lease_until=None)
        )
