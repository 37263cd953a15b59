"""How conversation and activity requests are validated and refused (the reference's codes)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from unihub.activities.schemas import error_path
from unihub.conversations.models import OPEN, Conversation
from unihub.core.errors import ApiError, ErrorItem, bad_request, not_found
from unihub.core.validation import JsonBody, errors_from_pydantic
from unihub.hubs.models import Hub
from unihub.hubs.schemas import HUB_PAUSED

M = TypeVar("M", bound=BaseModel)

# Generic validation codes -> the reference's codes for each request family.
CONVERSATION_CODES = {300: 3000, 301: 3001, 305: 3002}
INBOUND_CODES = {300: 5000, 301: 5001, 305: 5020, 306: 5015, 308: 5024}
_INBOUND_CUSTOM = {"message_or_event_required": 5003, "message_and_event_exclusive": 5004}


# --------------------------------------------------------------------------- validation


def validate_body(model: type[M], body: JsonBody, codes: Mapping[int, int], empty_code: int) -> M:
    try:
        data = body.object()
    except ApiError as exc:
        raise ApiError(400, [ErrorItem(codes[300], e.description) for e in exc.errors]) from None
    if not data:
        raise bad_request(empty_code, "Request body is an empty JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        items: list[ErrorItem] = []
        plain: list[dict[str, Any]] = []
        for err in exc.errors(include_url=False):
            path = error_path(tuple(err["loc"]), "", tagged_root=False)
            if err["type"] in _INBOUND_CUSTOM:
                items.append(ErrorItem(_INBOUND_CUSTOM[err["type"]], str(err["msg"]) + "."))
                continue
            plain.append({**err, "loc": (path,) if path else ()})
        for item in errors_from_pydantic(plain, "body"):
            items.append(ErrorItem(codes.get(item.code, item.code), item.description))
        raise ApiError(400, items) from None


def conversation_not_found(conversation_id: uuid.UUID) -> ApiError:
    return not_found(6500, f"Conversation '{conversation_id}' does not exist.")


def closed(conversation_id: uuid.UUID) -> ApiError:
    return bad_request(
        6501,
        f"Conversation '{conversation_id}' is closed; establish a new conversation to continue.",
    )


def require_accepting(conversation: Conversation, hub: Hub | None) -> Hub:
    """What every activity and control change needs, checked after the body: an open
    conversation of an existing, active hub."""
    if conversation.status != OPEN:
        raise closed(conversation.id)
    if hub is None:
        raise not_found(5500, f"Hub '{conversation.hub_id}' does not exist.")
    if hub.status_id == HUB_PAUSED:
        raise bad_request(6503, f"Hub '{hub.id}' is paused; it accepts no activities.")
    return hub
