"""Which token-minting secrets were deleted, as seen by this process (never older than the TTL)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import delete, select

from unihub.core.database import Database
from unihub.core.timestamps import utcnow
from unihub.core.tokens import TOKEN_LIFETIME_S
from unihub.tenants.models import RevokedSecret


class RevocationList:
    def __init__(self, db: Database, ttl_s: float) -> None:
        self._db = db
        self._ttl = ttl_s
        self._revoked: frozenset[int] = frozenset()
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def is_revoked(self, secret_id: int) -> bool:
        if time.monotonic() - self._loaded_at > self._ttl:
            await self._refresh()
        return secret_id in self._revoked

    def mark_revoked_locally(self, secret_id: int) -> None:
        """The process that deleted the secret refuses its tokens at once."""
        self._revoked = self._revoked | {secret_id}

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at <= self._ttl:
                return  # another request refreshed while we waited
            async with self._db.read() as s:
                ids = (await s.execute(select(RevokedSecret.secret_id))).scalars().all()
            self._revoked = frozenset(ids)
            self._loaded_at = time.monotonic()

    async def prune(self) -> None:
        """Forget revocations older than any token could be."""
        cutoff = utcnow() - timedelta(seconds=TOKEN_LIFETIME_S + 3600)
        async with self._db.write() as s:
            await s.execute(delete(RevokedSecret).where(RevokedSecret.revoked_at < cutoff))
