"""The one interface every provider channel implements, and what crosses it.

A channel adapter holds everything about one provider: its configuration schema, attaching
(`verify`: check the credentials with the provider and say what to store), inbound
(`receive`: check the provider's signature and turn its webhook into messages) and outbound
(`send`: render an activity for the provider and send it). Adapters speak in plain data
(`Account`, `Inbound`, `Outgoing`), never in another domain's rows, so `channels` sits below
integrations, the engine and delivery, which all use it. Failures are only ever
`errors.Rejected` (the provider said no: fix the input) or `errors.Unavailable` (no usable
answer: retry later).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel

from unihub.channels.types import ChannelId
from unihub.core.context import AppContext
from unihub.core.validation import trimmed_str

# A credential in a channel's configuration (tokens, SIDs): trimmed, bounded.
Credential = Annotated[str, trimmed_str(512)]


@dataclass(frozen=True, slots=True)
class Setup:
    """What a validated (and, for provider channels, verified) configuration stores."""

    integration_type: str
    configuration: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    inbound_id: str | None = None  # how the provider's webhooks name the integration
    external_key: str | None = None  # unique over all hubs: one number/page/team, one hub
    regenerate_keys: bool = False


@dataclass(frozen=True, slots=True)
class Account:
    """An attached integration as its adapter sees it (configuration in wire form)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    configuration: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """A provider's webhook request, as the route received it."""

    url: str  # the externally visible URL (Twilio signs it)
    headers: Mapping[str, str]
    body: bytes
    form: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message a provider delivered: from a customer (`binding` names the conversation to
    establish or reuse) or from an agent replying in a known conversation."""

    nodes: list[dict[str, Any]]
    external_id: str | None = None
    binding: str | None = None
    conversation_id: uuid.UUID | None = None
    sender_id: uuid.UUID | None = None  # an agent integration speaking; None: the customer
    # The provider's id of this event (Telegram update_id, LINE webhookEventId): accepted
    # once per integration, however often the provider delivers it.
    receipt: str | None = None
    # Conversation properties ({"profile": {...}}) used when this message opens one.
    properties: dict[str, Any] | None = None
    # "message", or "event" for what the customer did rather than said (LINE's follow).
    kind: str = "message"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox row for a provider: the Direct payload fixed at accept time."""

    account: Account
    conversation_id: uuid.UUID
    binding: str | None
    payload: Mapping[str, Any]
    # Stable across retries of this row: providers' idempotency keys (LINE's retry key).
    delivery_id: uuid.UUID | None = None


class ChannelAdapter(Protocol):
    @property
    def channel(self) -> ChannelId: ...

    @property
    def provider(self) -> str:
        """The provider's name in errors, e.g. "Twilio"."""
        ...

    @property
    def config_model(self) -> type[BaseModel]:
        """The schema of the `configuration` an integration of this channel is created with."""
        ...

    async def verify(
        self, ctx: AppContext, config: Any, *, tenant_id: uuid.UUID, hub_id: uuid.UUID
    ) -> Setup:
        """Check the configuration with the provider; what to store when it holds."""
        ...

    async def receive(
        self, ctx: AppContext, request: InboundRequest, account: Account
    ) -> list[Inbound]:
        """The messages of one webhook request; `errors.SignatureInvalid` when unsigned."""
        ...

    async def send(self, ctx: AppContext, out: Outgoing) -> int | None:
        """Send one row; the provider's HTTP status, or None when it has no provider form
        (events such as typing indicators)."""
        ...


@runtime_checkable
class Attachable(Protocol):
    """An adapter that must tell its provider where to send events once the integration
    exists (Telegram's setWebhook), and when it goes (deleted or paused)."""

    async def attached(self, ctx: AppContext, account: Account) -> None: ...

    async def detached(self, ctx: AppContext, account: Account) -> None: ...
