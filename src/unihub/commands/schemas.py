"""Request/response models of transfer and response commands.

A response command's `responses` are checked element by element against the activity
schemas (`unihub.activities.schemas`), chosen by the command's `type`; see `check_responses`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import httpx
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from unihub.activities.schemas import EVENTS_ADAPTER, MESSAGES_ADAPTER, error_path
from unihub.core.errors import ErrorItem
from unihub.core.schemas import ApiModel
from unihub.core.validation import TrimmedName, errors_from_pydantic, reject_null, trimmed_str

MAX_RESPONSES = 50
_INT32 = 2**31 - 1


def _absolute_url(value: str) -> str:
    """An absolute http(s) URL with a host, kept as sent (after trimming)."""
    value = value.strip()
    if len(value) > 2048:
        raise PydanticCustomError("code_207", "is longer than 2048 characters")
    bad = PydanticCustomError("url_parsing", "Input should be an absolute http or https URL")
    if not value or any(c.isspace() for c in value):
        raise bad
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, ValueError):
        raise bad from None
    if url.scheme not in ("http", "https") or not url.host:
        raise bad
    return value


# The reference client's `IntegrationType` numbers of the two kinds a response command targets.
_TYPE_NUMBERS = {2: "customer", 3: "agent"}


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _integration_type(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return _TYPE_NUMBERS.get(value, value)
    return _lower(value)


Description = Annotated[str, trimmed_str(1024, min_length=0)]
Category = Annotated[str, trimmed_str(128, min_length=0)]
LinkDescription = Annotated[str, trimmed_str(1024)]
AbsoluteUrl = Annotated[str, AfterValidator(_absolute_url)]
# Milliseconds; negative means "do not mount the WebChat" (reference), so no lower bound at 0.
MountDelay = Annotated[int, Field(ge=-_INT32 - 1, le=_INT32)]
IntegrationTypeId = Annotated[Literal["agent", "customer"], BeforeValidator(_integration_type)]
CommandType = Annotated[Literal["message", "event"], BeforeValidator(_lower)]
Responses = Annotated[list[Any], Field(min_length=1, max_length=MAX_RESPONSES)]


# --------------------------------------------------------------------------- transfer


class TransferCreate(ApiModel):
    name: TrimmedName
    description: Description | None = None
    url: AbsoluteUrl
    link_description: LinkDescription
    mount_delay: MountDelay | None = None  # absent or null: 0


class TransferUpdate(ApiModel):
    """Absent = unchanged; null clears `description` and resets `mountDelay` to 0."""

    name: TrimmedName | None = None
    description: Description | None = None
    url: AbsoluteUrl | None = None
    link_description: LinkDescription | None = None
    mount_delay: MountDelay | None = None

    _no_null = field_validator("name", "url", "link_description", mode="before")(reject_null)

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set}


class TransferOut(ApiModel):
    command_id: uuid.UUID
    hub_id: uuid.UUID
    name: str
    description: str | None = None
    url: str
    link_description: str
    mount_delay: int


# --------------------------------------------------------------------------- response


class ResponseCreate(ApiModel):
    name: TrimmedName
    category: Category | None = None
    description: Description | None = None
    integration_type_id: IntegrationTypeId
    type: CommandType
    responses: Responses = Field(
        description="Activity messages (type `message`) or events (type `event`)."
    )


class ResponseUpdate(ApiModel):
    """Absent = unchanged; null clears `category` and `description`."""

    name: TrimmedName | None = None
    category: Category | None = None
    description: Description | None = None
    integration_type_id: IntegrationTypeId | None = None
    type: CommandType | None = None
    responses: Responses | None = None

    _no_null = field_validator("name", "integration_type_id", "type", "responses", mode="before")(
        reject_null
    )

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set}


class ResponseOut(ApiModel):
    command_id: uuid.UUID
    hub_id: uuid.UUID
    name: str
    category: str | None = None
    description: str | None = None
    integration_type_id: Literal["agent", "customer"]
    type: Literal["message", "event"]
    responses: list[dict[str, Any]]


def check_responses(
    kind: Any, responses: Any
) -> tuple[list[dict[str, Any]] | None, list[ErrorItem]]:
    """Validate every element against the message or event schemas; wire form or errors.

    Returns (None, []) when `kind` or the list itself is unusable: those problems are reported
    by the command model, not here.
    """
    kind = _lower(kind)
    if kind not in ("message", "event") or not isinstance(responses, list) or not responses:
        return None, []
    if len(responses) > MAX_RESPONSES:
        return None, []
    adapter = MESSAGES_ADAPTER if kind == "message" else EVENTS_ADAPTER
    try:
        items = adapter.validate_python(responses)
    except ValidationError as exc:
        return None, errors_from_pydantic(_client_locs(exc), "body")
    return [item.to_wire() for item in items], []


def _client_locs(exc: ValidationError) -> list[dict[str, Any]]:
    """Errors whose location reads `responses[1].title`: union tags left out of the path."""
    out: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False):
        e: dict[str, Any] = dict(err)
        path = error_path(tuple(e["loc"]), "responses")
        if e["type"] == "union_tag_invalid":
            # Point at the offending `type` value rather than at the whole element.
            path += ".type"
            e["input"] = (e.get("ctx") or {}).get("tag", e.get("input"))
        elif e["type"] == "union_tag_not_found":
            path += ".type"
            e["type"] = "missing"
        e["loc"] = (path,)
        out.append(e)
    return out
