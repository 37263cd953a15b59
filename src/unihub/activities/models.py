from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime, new_id
from unihub.core.timestamps import utcnow


class StoredActivity(Base):
    """An accepted activity, as the engine enriched it (`body` is its wire JSON).

    `seq` increases by one per conversation and `event_id` (epoch milliseconds) strictly
    increases per conversation, so `leid` paging never skips nor repeats an activity.
    The `side_*` flags say which integration types sent or received it (for `?type=`).
    """

    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "event_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(8))
    sender_integration_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    sender_type: Mapped[str] = mapped_column(String(16))
    side_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    side_agent: Mapped[bool] = mapped_column(Boolean, default=False)
    side_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    external_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
