"""Slack's own tables: the OAuth nonces of installs, and one thread per conversation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime
from unihub.core.timestamps import utcnow


class SlackThread(Base):
    """The Slack thread that carries one conversation for one Slack agent integration.

    Written after the conversation's first post (its `ts` becomes the thread); later posts
    reply in it, and replies typed in it come back to the conversation. Slack `ts` values are
    unique per channel, hence the lookup key.
    """

    __tablename__ = "slack_threads"
    __table_args__ = (UniqueConstraint("integration_id", "channel_id", "thread_ts"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SlackNonce(Base):
    """A Slack OAuth `state` handed to one tenant for one hub: single use, short-lived.

    Only the hash of the nonce is stored; `used` is flipped by a conditional UPDATE so two
    requests racing with the same nonce cannot both succeed.
    """

    __tablename__ = "slack_nonces"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("hubs.id", ondelete="CASCADE"))
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    expires: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
