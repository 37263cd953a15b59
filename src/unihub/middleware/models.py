from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from unihub.core.orm import ENCRYPTED, Base, UTCDateTime
from unihub.core.timestamps import utcnow


class IdempotencyKey(Base):
    """The first answer to a creating POST, replayed for the same (client, key) for 24 h.

    A row without `status` is a request still running: the primary key makes a concurrent
    duplicate fail to insert, and it waits for the answer instead of creating again.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created", "created"),)

    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, info=ENCRYPTED)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
