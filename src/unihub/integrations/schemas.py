"""Request and response models of the Integrations API.

The top-level body (`channelId`, `name`, `statusId`, `configuration`) is validated first; the
`configuration` object is then validated with the model of its channel. `start` messages are
kept as raw objects here and validated with the activity schemas by the service, which knows
how to report their paths without pydantic's union tags.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from unihub.channels.types import (
    INTEGRATION_ACTIVE,
    INTEGRATION_PAUSED,
    ChannelId,
    channel_from,
)
from unihub.core.schemas import ApiModel
from unihub.core.validation import TrimmedName, reject_null, trimmed_str

_CHANNEL_NAMES = ", ".join(f"{c.name} ({c.value})" for c in ChannelId)


def _channel(value: Any) -> Any:
    channel = channel_from(value)
    if channel is None:
        raise PydanticCustomError(
            "code_206",
            "value {value} is not a channel type; allowed: {allowed}",
            {"value": repr(value) if not isinstance(value, str) else f"'{value}'"}
            | {"allowed": _CHANNEL_NAMES},
        )
    return channel


def _status(value: int) -> int:
    if value not in (INTEGRATION_ACTIVE, INTEGRATION_PAUSED):
        raise PydanticCustomError(
            "code_206",
            "value {value} is not supported; allowed: 3000 (Active), 3002 (Paused)",
            {"value": value},
        )
    return value


Channel = Annotated[ChannelId, BeforeValidator(_channel)]
IntegrationStatus = Annotated[int, AfterValidator(_status)]
Credential = Annotated[str, trimmed_str(512)]

# RFC 1123 host names (IDNs in their xn-- form), optionally with a port: what a browser puts
# into the Origin header, without the scheme.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*(:[0-9]{{1,5}})?$")


def _hostname(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if len(host) > 253 or not _HOSTNAME.fullmatch(host):
        raise PydanticCustomError(
            "code_202", "must be a host name such as 'example.com', got '{value}'", {"value": value}
        )
    return host


Hostname = Annotated[str, AfterValidator(_hostname)]

DIRECT_TYPES = ("Customer", "Agent", "Bot")
# The reference client's `Enums/IntegrationType.cs`; a Direct integration is one of three.
INTEGRATION_TYPE_NUMBERS = {
    0: "None",
    1: "Hubster",
    2: "Customer",
    3: "Agent",
    4: "Bot",
    5: "System",
}


def _direct_type(value: Any) -> Any:
    # Names any case, or the number in the reference's type table (Customer = 2 ...).
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool):
        value = INTEGRATION_TYPE_NUMBERS.get(value, value)
    if isinstance(value, str):
        for name in DIRECT_TYPES:
            if name.lower() == value.strip().lower():
                return name
    raise PydanticCustomError(
        "code_206",
        "value {value} is not supported; allowed: Customer (2), Agent (3), Bot (4)",
        {"value": repr(value)},
    )


DirectType = Annotated[str, BeforeValidator(_direct_type)]

# "control": the switchboard's control events (takeover, handover, release, fallback).
SYSTEM_EVENTS = ("message", "message:customer", "message:agent", "message:bot", "control")


def _events(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        event = value.strip().lower()
        if event not in SYSTEM_EVENTS:
            raise PydanticCustomError(
                "code_206",
                "value '{value}' is not an event; allowed: {allowed}",
                {"value": value, "allowed": ", ".join(SYSTEM_EVENTS)},
            )
        if event not in out:
            out.append(event)
    return out


Events = Annotated[list[str], Field(min_length=1), AfterValidator(_events)]
StartMessages = list[dict[str, Any]]


# --- top-level bodies -----------------------------------------------------------------------


class IntegrationCreate(ApiModel):
    channel_id: Channel
    name: TrimmedName
    status_id: IntegrationStatus = INTEGRATION_ACTIVE
    configuration: dict[str, Any]


class IntegrationUpdate(ApiModel):
    """Absent = unchanged; `configuration`, when present, replaces the old one whole."""

    channel_id: Channel | None = None
    name: TrimmedName | None = None
    status_id: IntegrationStatus | None = None
    configuration: dict[str, Any] | None = None

    _no_null = field_validator("name", "status_id", "configuration", mode="before")(reject_null)


# --- configuration per channel ---------------------------------------------------------------


class WebChatConfig(ApiModel):
    allowed_origins: Annotated[list[Hostname], Field(min_length=1, max_length=100)]
    echo: bool = True
    start: StartMessages | None = None


class DirectConfig(ApiModel):
    integration_type: DirectType
    echo: bool = False
    webhook_url: Annotated[str, trimmed_str(2048)] | None = None
    start: StartMessages | None = None
    regenerate_keys: bool = False
    # Bot integrations: also receive standby copies of conversations they do not control.
    standby: bool = False

    @model_validator(mode="after")
    def _standby_for_bots(self) -> DirectConfig:
        if self.standby and self.integration_type != "Bot":
            raise PydanticCustomError(
                "code_206",
                "'standby' applies to Bot integrations only (agents always get standby copies)",
            )
        return self


class SystemConfig(ApiModel):
    webhook_url: Annotated[str, trimmed_str(2048)]
    events: Events
    regenerate_keys: bool = False


# --- responses (documentation; the service builds the dicts) ---------------------------------


class SlackAuthorizeOut(ApiModel):
    url: str = Field(examples=["https://slack.com/oauth/v2/authorize?client_id=...&state=..."])
    nonce: str
    expires: str = Field(examples=["2020-10-13T02:52:26.993210Z"])


class IntegrationOut(ApiModel):
    integration_id: uuid.UUID
    hub_id: uuid.UUID
    tenant_id: uuid.UUID
    integration_type_id: Literal["Customer", "Agent", "Bot", "System"]
    channel_id: str = Field(examples=["WebChat"])
    name: str
    status_id: int = Field(examples=[3000])
    inbound_id: str | None = None
    configuration: dict[str, Any] = Field(
        description="Channel configuration; stored credentials are shown masked "
        "(first 4 characters and '...'); Direct and System show both signing keys."
    )
    created: str = Field(examples=["2020-10-13T02:42:26.993210Z"])
    modified: str = Field(examples=["2020-10-13T02:42:26.993210Z"])
