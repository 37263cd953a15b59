"""LINE's own tables: the reply tokens of received events, and who follows the bot."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime


class LineReplyToken(Base):
    """A received event's `replyToken`: one free reply within LINE's short window.

    `used` is flipped by a conditional UPDATE, so two sends racing for it cannot both use it;
    `delivery_id` names the outbox row whose reply succeeded with it (a retry of that row
    must not send its first messages again by push).
    """

    __tablename__ = "line_reply_tokens"

    reply_token: Mapped[str] = mapped_column(String(256), primary_key=True)
    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(64))
    received: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)


class LineFollower(Base):
    """Whether a LINE user follows (has added, not blocked) the bot: the latest follow or
    unfollow event by LINE's timestamp, so a late redelivery cannot undo a newer one."""

    __tablename__ = "line_followers"

    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    following: Mapped[bool] = mapped_column(Boolean)
    changed: Mapped[datetime] = mapped_column(UTCDateTime)
