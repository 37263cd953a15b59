from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime, new_id
from unihub.core.timestamps import utcnow


class Hub(Base):
    __tablename__ = "hubs"
    __table_args__ = (
        # `name_key` is the case-folded name: uniqueness ignoring case on both backends.
        UniqueConstraint("tenant_id", "name_key"),
        Index("ix_hubs_tenant_page", "tenant_id", "created", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    name_key: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(1024))
    close_dormant_conversation: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status_id: Mapped[int] = mapped_column(Integer, default=2000)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HubCount(Base):
    """A tenant's number of hubs, changed in the same transaction as every create and delete.

    List answers carry `total`; reading this row keeps that O(1) instead of counting the
    tenant's hubs on every page request.
    """

    __tablename__ = "hub_counts"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    hubs: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every create and delete: a version for per-process caches of page anchors.
    changes: Mapped[int] = mapped_column(BigInteger, default=0)
