from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import ENCRYPTED, Base, UTCDateTime
from unihub.core.timestamps import utcnow


class SigningKey(Base):
    """Token signing keys (encrypted PEM), shared by every process through the database."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_key: Mapped[bytes] = mapped_column(LargeBinary, info=ENCRYPTED)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
