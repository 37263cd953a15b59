"""Queries of Slack's own tables (install nonces, conversation threads)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.channels.slack.models import SlackNonce, SlackThread


async def add_nonce(s: AsyncSession, nonce: SlackNonce) -> None:
    s.add(nonce)
    await s.flush()


async def consume_nonce(
    s: AsyncSession, nonce_hash: str, tenant_id: uuid.UUID, hub_id: uuid.UUID, now: datetime
) -> bool:
    """Mark the nonce used if it is this tenant's and hub's, unused and unexpired.

    One conditional UPDATE: of two requests racing with the same nonce only one sees a row.
    """
    result = await s.execute(
        update(SlackNonce)
        .where(
            SlackNonce.nonce_hash == nonce_hash,
            SlackNonce.tenant_id == tenant_id,
            SlackNonce.hub_id == hub_id,
            SlackNonce.used.is_(False),
            SlackNonce.expires > now,
        )
        .values(used=True)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def purge_nonces(s: AsyncSession, before: datetime) -> None:
    await s.execute(delete(SlackNonce).where(SlackNonce.expires < before))


async def thread_of(
    s: AsyncSession, conversation_id: uuid.UUID, integration_id: uuid.UUID
) -> SlackThread | None:
    return await s.get(SlackThread, (conversation_id, integration_id))


async def thread_at(
    s: AsyncSession, integration_id: uuid.UUID, channel_id: str, thread_ts: str
) -> SlackThread | None:
    stmt = select(SlackThread).where(
        SlackThread.integration_id == integration_id,
        SlackThread.channel_id == channel_id,
        SlackThread.thread_ts == thread_ts,
    )
    return (await s.execute(stmt)).scalar_one_or_none()


def add_thread(s: AsyncSession, thread: SlackThread) -> None:
    s.add(thread)
