from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime, new_id
from unihub.core.timestamps import utcnow


class TransferCommand(Base):
    """A link the WebChat device offers to move the customer to another page."""

    __tablename__ = "transfer_commands"
    __table_args__ = (
        # `name_key` is the case-folded name: unique per hub ignoring case on both backends.
        UniqueConstraint("hub_id", "name_key"),
        Index("ix_transfer_commands_hub_order", "hub_id", "created", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("hubs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    url: Mapped[str] = mapped_column(String(2048))
    link_description: Mapped[str] = mapped_column(String(1024))
    mount_delay: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResponseCommand(Base):
    """Canned messages or events an agent or customer sends by typing `::name`.

    `responses` holds the validated activity payloads in wire form (camelCase, nulls and
    unknown properties dropped), so the engine can send them as stored.
    """

    __tablename__ = "response_commands"
    __table_args__ = (
        UniqueConstraint("hub_id", "name_key"),
        Index("ix_response_commands_hub_order", "hub_id", "created", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    hub_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("hubs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128))
    category: Mapped[str | None] = mapped_column(String(128), nullable=True)
    description: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    integration_type: Mapped[str] = mapped_column(String(16))  # "agent" | "customer"
    type: Mapped[str] = mapped_column(String(16))  # "message" | "event"
    responses: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
