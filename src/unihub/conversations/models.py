from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime, new_id
from unihub.core.timestamps import utcnow

OPEN = "open"
CLOSED = "closed"


class Conversation(Base):
    """One customer's conversation on a customer integration.

    `open_key` is "integration_id:binding" while the conversation is open and NULL once it is
    closed: the unique constraint lets at most one open conversation exist per binding, even
    under concurrent establishes, while closed ones stay as history.

    `hub_id` and `integration_id` carry no foreign key on purpose: deleting a hub closes its
    conversations instead of erasing them.  `last_seq`/`last_event_id` are bumped under the
    row's write lock for each activity, which serialises activities per conversation.

    `control_*` is the switchboard's state (`conversations.control`): who receives the
    customer's activities (`control_kind` "bot", "agents" or "agent", with the bot's or
    agent's id), the bot it started with, and since when. It is read and changed under the
    same row lock, so routing never sees a half-made change. NULL once closed.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_dormant", "status", "hub_id", "last_activity_at"),
        Index("ix_conversations_hub_status", "hub_id", "status"),
        Index("ix_conversations_hub_control", "hub_id", "status", "control_kind"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    integration_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    binding: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(8), default=OPEN)
    open_key: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)
    token_id: Mapped[str] = mapped_column(String(64))
    properties: Mapped[str] = mapped_column(Text, default="{}")
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    control_kind: Mapped[str | None] = mapped_column(String(8), nullable=True)
    control_integration_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    control_start_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    control_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InboundReceipt(Base):
    """A provider event already accepted (Telegram `update_id`, LINE `webhookEventId`...).

    Written in the transaction that stores the activity, so a provider's redelivery or a
    second poller reading the same update is refused by the primary key and stores nothing,
    and a crash before commit leaves neither (the redelivery is then accepted once).
    """

    __tablename__ = "inbound_receipts"

    integration_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(256), primary_key=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
