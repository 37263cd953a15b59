from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime, new_id
from unihub.core.timestamps import utcnow


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(256))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiClient(Base):
    """A tenant's OAuth client: one for the portal API resource, one for the engine."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    resource: Mapped[str] = mapped_column(String(16))  # "portal" | "engine"
    name: Mapped[str] = mapped_column(String(256))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClientSecret(Base):
    """A client secret, stored as SHA-256 (secrets are 256-bit random, so no slow KDF needed)."""

    __tablename__ = "client_secrets"
    # Revocation is keyed by id, so ids must never be reused: SQLite would hand a deleted
    # maximum rowid to the next secret without AUTOINCREMENT (PostgreSQL sequences never do).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("api_clients.client_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(256))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(32))
    expiration: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RevokedSecret(Base):
    """Secrets deleted while tokens minted with them may still be alive (kept 30 days)."""

    __tablename__ = "revoked_secrets"

    secret_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
