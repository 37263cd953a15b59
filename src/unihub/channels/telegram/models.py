"""Telegram's own tables: who polls which bot (and from where), and the inline buttons sent."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime
from unihub.core.timestamps import utcnow


class TelegramPoll(Base):
    """The long-polling state of one bot (integrations without `UNIHUB_PUBLIC_URL`).

    One process at a time holds the lease (`owner` until `lease_until`, renewed at every
    poll); another takes it over when it expires or its owner is dead. `next_offset` is
    getUpdates' offset: written only after the updates before it were accepted, so a crash
    re-reads them (and their receipts drop what was already accepted) instead of losing them.
    """

    __tablename__ = "telegram_polls"

    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    owner: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    holder: Mapped[str | None] = mapped_column(String(128), nullable=True)  # host:pid, for people
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TelegramButton(Base):
    """An inline button as rendered: callback_data holds only `key` (Telegram allows 64
    bytes), so a press finds the action's type, title and payload here."""

    __tablename__ = "telegram_buttons"
    __table_args__ = (Index("ix_telegram_buttons_chat", "integration_id", "chat_id"),)

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    integration_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    # Reply keyboard buttons only: their press arrives as the title typed in this chat.
    chat_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))  # "postback" or "reply"
    title: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
