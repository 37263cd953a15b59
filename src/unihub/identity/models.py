from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import Base, UTCDateTime
from unihub.core.timestamps import utcnow


class SigningKey(Base):
    """Token signing keys (encrypted PEM), shared by every process through the database."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RevokedSecret(Base):
    """Secrets deleted while tokens minted with them may still be alive (kept 30 days)."""

    __tablename__ = "revoked_secrets"

    secret_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
