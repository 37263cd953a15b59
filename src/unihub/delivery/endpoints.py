from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from unihub.core.auth import EngineCaller
from unihub.core.errors import COMMON_ERRORS, error_responses
from unihub.core.pagination import Page, Paging, page_body
from unihub.core.responses import JSON
from unihub.core.timestamps import format_ts
from unihub.delivery import repository as repo
from unihub.delivery.models import Delivery

router = APIRouter(tags=["engine"])


class FailedDelivery(BaseModel):
    deliveryId: str
    hubId: str
    conversationId: str
    integrationId: str
    eventId: int
    channel: str
    attempts: int
    lastError: str | None = None
    lastStatusCode: int | None = None
    created: str
    failedDateTime: str | None = None


def _failed_wire(d: Delivery) -> dict[str, Any]:
    out: dict[str, Any] = {
        "deliveryId": str(d.id),
        "hubId": str(d.hub_id),
        "conversationId": str(d.conversation_id),
        "integrationId": str(d.receiver_id),
        "eventId": d.event_id,
        "channel": d.channel,
        "attempts": d.attempts,
    }
    if d.last_error is not None:
        out["lastError"] = d.last_error
    if d.last_status_code is not None:
        out["lastStatusCode"] = d.last_status_code
    out["created"] = format_ts(d.created)
    if d.failed_at is not None:
        out["failedDateTime"] = format_ts(d.failed_at)
    return out


@router.get(
    "/api/v1/deliveries/failed",
    operation_id="deliveries_list_failed",
    response_model=Page[FailedDelivery],
    responses=error_responses(400, *COMMON_ERRORS),
    summary="Webhook deliveries that exhausted every retry, oldest first",
)
async def failed_deliveries(paging: Paging, caller: EngineCaller) -> Response:
    async with caller.ctx.db.read() as s:
        total = await repo.count_failed(s, caller.tenant_id)
        rows = await repo.page_failed(s, caller.tenant_id, paging.offset, paging.page_size)
    return JSON(page_body(paging, total, [_failed_wire(d) for d in rows]))
