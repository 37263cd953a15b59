"""Queries of LINE's own tables (reply tokens, followers)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.channels.line.models import LineFollower, LineReplyToken


async def add_reply_token(
    s: AsyncSession, integration_id: uuid.UUID, user_id: str, token: str, received: datetime
) -> None:
    if await s.get(LineReplyToken, token) is None:
        s.add(
            LineReplyToken(
                reply_token=token,
                integration_id=integration_id,
                user_id=user_id,
                received=received,
                used=False,
            )
        )
        await s.flush()


async def purge_reply_tokens(s: AsyncSession, integration_id: uuid.UUID, before: datetime) -> None:
    await s.execute(
        delete(LineReplyToken).where(
            LineReplyToken.integration_id == integration_id, LineReplyToken.received < before
        )
    )


async def claim_reply_token(
    s: AsyncSession,
    integration_id: uuid.UUID,
    user_id: str,
    fresh_after: datetime,
    delivery_id: uuid.UUID | None,
) -> str | None:
    """The newest unused token received after `fresh_after`, marked used. One conditional
    UPDATE per candidate: of two sends racing for a token only one sees its row change."""
    stmt = (
        select(LineReplyToken.reply_token)
        .where(
            LineReplyToken.integration_id == integration_id,
            LineReplyToken.user_id == user_id,
            LineReplyToken.used.is_(False),
            LineReplyToken.received > fresh_after,
        )
        .order_by(LineReplyToken.received.desc())
        .limit(3)
    )
    for token in (await s.execute(stmt)).scalars():
        result = await s.execute(
            update(LineReplyToken)
            .where(LineReplyToken.reply_token == token, LineReplyToken.used.is_(False))
            .values(used=True, delivery_id=delivery_id)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            return str(token)
    return None


async def release_reply(s: AsyncSession, token: str) -> None:
    """The reply failed: the token stays spent, but no row counts as replied with it."""
    await s.execute(
        update(LineReplyToken).where(LineReplyToken.reply_token == token).values(delivery_id=None)
    )


async def replied(s: AsyncSession, delivery_id: uuid.UUID) -> bool:
    stmt = select(LineReplyToken.reply_token).where(LineReplyToken.delivery_id == delivery_id)
    return (await s.execute(stmt.limit(1))).first() is not None


async def set_following(
    s: AsyncSession, integration_id: uuid.UUID, user_id: str, following: bool, at: datetime
) -> None:
    row = await s.get(LineFollower, (integration_id, user_id))
    if row is None:
        s.add(
            LineFollower(
                integration_id=integration_id, user_id=user_id, following=following, changed=at
            )
        )
        await s.flush()
    elif row.changed <= at:
        row.following, row.changed = following, at


async def following(s: AsyncSession, integration_id: uuid.UUID, user_id: str) -> bool | None:
    row = await s.get(LineFollower, (integration_id, user_id))
    return None if row is None else row.following
