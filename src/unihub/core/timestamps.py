"""Time as the API speaks it: aware UTC datetimes, RFC 3339 with microseconds on the wire."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_ts(value: datetime) -> str:
    """RFC 3339, microseconds, `Z`: `2020-10-13T02:42:26.993210Z`."""
    # isoformat is several times faster than strftime; it runs twice per hub on the wire.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
