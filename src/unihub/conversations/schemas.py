from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from unihub.activities.schemas import Guid
from unihub.core.schemas import ApiModel


class EstablishRequest(ApiModel):
    """Body of `POST /api/v1/conversations/establish`."""

    integration_id: Guid
    binding: str = Field(min_length=1, max_length=256)
    # The .NET client sends no channel type (or null): the integration's channel is meant.
    channel_type: str | int | None = None
    properties: dict[str, Any] | None = None


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class ControlRequest(ApiModel):
    """Body of `POST /api/v1/conversations/{conversationId}/control` (docs/switchboard.md)."""

    action: Annotated[Literal["takeover", "handover", "release"], BeforeValidator(_lower)]
    integration_id: Guid = Field(description="The acting Agent or Bot integration of the hub")
    target: Guid | None = Field(
        default=None, description="handover only: the Agent or Bot integration to hand it to"
    )
    metadata: dict[str, Any] | None = Field(
        default=None, description="Any JSON object up to 4 KB, passed on to business integrations"
    )


class ControlOut(BaseModel):
    integrationId: str | None = Field(description="The bot or agent; null: the hub's agents")
    integrationType: Literal["Bot", "Agent"]
    since: str | None = None


class ControlChanged(ApiModel):
    status: int
    hub_id: str
    conversation_id: str
    control: ControlOut
    changed: bool
    event_id: int | None = Field(description="The control event's eventId; null if unchanged")


class IntegrationSummary(ApiModel):
    integration_id: str
    hub_id: str
    hub: dict[str, Any] | None = None
    integration_type_id: str
    channel_id: str
    name: str
    status_id: int
    created: str
    modified: str


class ConversationOut(ApiModel):
    conversation_id: str
    integration_id: str
    token_id: str
    integration: IntegrationSummary | None = None
    properties: dict[str, Any]
    opened_date_time: str
    status: str
    last_activity_date_time: str
    closed_date_time: str | None = None
    control: ControlOut | None = Field(default=None, description="null once closed")


class EstablishedOut(BaseModel):
    """Documented camelCase names, and the snake_case ones the .NET client's model reads."""

    tenantId: str
    hubId: str
    integrationId: str
    conversationId: str
    tokenId: str
    openedDateTime: str
    closedDateTime: str | None = None
    properties: dict[str, Any]
    tenant_id: str
    hub_id: str
    integration_id: str
    conversation_id: str
    token_id: str
    opened: str
    closed: str | None = None
    control: ControlOut | None = None


class EstablishOut(EstablishedOut):
    isNew: bool


class ActivityAccepted(ApiModel):
    status: int
    event_id: int
    external_id: str | None = None
    hub_id: str
    conversation_id: str
    integration_id: str
    interaction_id: str | None = None
