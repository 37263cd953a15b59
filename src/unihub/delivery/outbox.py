"""The outbox's write side: what the engine hands to delivery when it accepts an activity.

A row carries everything a send needs (the receiver, the exact payload, the conversation's
customer binding for providers that address a phone number or a page-scoped user id), so
delivery never reads another domain's tables. Rows are inserted in the caller's transaction,
with the activity they deliver: all or nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from unihub.core.prepared import Prepared
from unihub.delivery.models import PENDING, Delivery

_TABLE = cast(Table, Delivery.__table__)
_INSERT = Prepared(insert(_TABLE))


def outbox_row(
    *,
    tenant_id: uuid.UUID,
    hub_id: uuid.UUID,
    conversation_id: uuid.UUID,
    binding: str,
    activity_id: uuid.UUID,
    event_id: int,
    seq: int,
    receiver_id: uuid.UUID,
    channel: str,
    payload: bytes,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "hub_id": hub_id,
        "conversation_id": conversation_id,
        "binding": binding,
        "activity_id": activity_id,
        "event_id": event_id,
        "receiver_id": receiver_id,
        "channel": channel,
        "seq": seq,
        "payload": payload.decode(),
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,  # due at once for every worker, whatever its clock
        "created": now,
    }


def enqueue(s: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert outbox rows (from `outbox_row`) in the caller's transaction (a sync session:
    `Database.transact`, or `AsyncSession.run_sync`)."""
    if rows:
        _INSERT.execute_many(s, list(rows))
