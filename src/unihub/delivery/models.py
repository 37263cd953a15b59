from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime, new_id
from unihub.core.timestamps import utcnow

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"

WEBHOOK = "webhook"
WEBSOCKET = "websocket"
# Twilio SMS, Messenger and Slack: sent by `delivery.providers` through the provider's API.
PROVIDER = "provider"


class Delivery(Base):
    """The outbox: one row per (activity, receiving integration), written in the activity's
    transaction, so an accepted activity always has its deliveries on disk.

    `id` is stable across retries and restarts (sent as `x-hubster-delivery-id`); `payload` is
    the exact body, fixed at accept time. A worker owns a row while `leased_until` is in the
    future; `seq` (the activity's per-conversation sequence) orders rows of one
    (conversation, receiver) pair; `leased_by` names the process holding the lease.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "channel", "next_attempt_at"),
        Index("ix_deliveries_pair", "conversation_id", "receiver_id", "status", "seq"),
        Index("ix_deliveries_tenant_status", "tenant_id", "status", "created"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    activity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("activities.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(BigInteger)
    receiver_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # The conversation's customer binding (phone number, page-scoped id) for provider sends.
    binding: Mapped[str | None] = mapped_column(String(256), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The process that holds the lease (`delivery.owners`): a dead owner's leases are taken
    # back at once instead of being waited out.
    leased_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
