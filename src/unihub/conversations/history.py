"""Reading a conversation's activities back, one side at a time, after an eventId cursor."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from unihub.conversations import repository as repo
from unihub.conversations.checks import conversation_not_found
from unihub.core.context import AppContext
from unihub.core.errors import bad_request, forbidden

ACTIVITY_LIMIT = 1000
# Names any case, or the reference client's `IntegrationType` numbers (Customer = 2 ...).
SIDES = {
    "customer": "Customer",
    "agent": "Agent",
    "bot": "Bot",
    "2": "Customer",
    "3": "Agent",
    "4": "Bot",
}


async def activities(
    ctx: AppContext,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    side: str,
    leid: int,
    only_integration: uuid.UUID | None = None,
) -> list[Any]:
    async with ctx.db.read() as s:
        conversation = await repo.get(s, tenant_id, conversation_id)
        if conversation is None or (
            only_integration is not None and conversation.integration_id != only_integration
        ):
            raise conversation_not_found(conversation_id)
        if only_integration is not None and side != "Customer":
            raise forbidden(
                101, "A WebChat token reads only the customer side of its conversations."
            )
        bodies = await repo.activities_after(s, conversation_id, side, leid, ACTIVITY_LIMIT)
    return [for_side(orjson.loads(b), side) for b in bodies]


def for_side(activity: dict[str, Any], side: str) -> dict[str, Any]:
    """A stored activity as `side` reads it (history and the followed sockets alike): control
    events reach the customer side without the business's metadata. Changes it in place."""
    if side == "Customer":
        event = activity.get("event")
        if isinstance(event, dict) and event.get("type") == "control":
            event.pop("metadata", None)
    return activity


def parse_side(value: str | None) -> str:
    if value is None or not value.strip():
        raise bad_request(
            200, "Query parameter 'type' is required (Customer, Agent or Bot, or 2, 3, 4)."
        )
    side = SIDES.get(value.strip().lower())
    if side is None:
        raise bad_request(
            206,
            f"Value '{value[:64]}' of 'type' is not supported; "
            "allowed: Customer (2), Agent (3), Bot (4).",
        )
    return side
