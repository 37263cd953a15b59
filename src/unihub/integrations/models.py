from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import ENCRYPTED, Base, UTCDateTime, new_id
from unihub.core.timestamps import utcnow


class Integration(Base):
    """A channel attached to a hub.

    `configuration` holds the non-secret part as JSON; `secrets` holds the secret part as
    encrypted JSON (SecretBox). `external_key` names the outside channel (Twilio number,
    Messenger page, Slack team) and is unique across all tenants: one channel, one hub.
    """

    __tablename__ = "integrations"
    __table_args__ = (
        UniqueConstraint("hub_id", "name_key"),
        UniqueConstraint("external_key"),
        Index("ix_integrations_tenant_page", "tenant_id", "created", "id"),
        Index("ix_integrations_hub_channel", "hub_id", "channel_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("hubs.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(Integer)
    integration_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128))
    status_id: Mapped[int] = mapped_column(Integer, default=3000)
    inbound_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    external_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    configuration: Mapped[str] = mapped_column(Text, default="{}")
    secrets: Mapped[str | None] = mapped_column(Text, nullable=True, info=ENCRYPTED)
    public_signing_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    private_signing_key: Mapped[str | None] = mapped_column(Text, nullable=True, info=ENCRYPTED)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
