"""An injectable clock: tests move delivery and dormant-closing time forward without sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from unihub.core.timestamps import utcnow


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
