"""The one accessor the engine uses to read an integration's routing configuration.

Integrations store their non-secret configuration as JSON text in wire camelCase; clients
send property names in any case, so keys are looked up ignoring case here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from unihub.channels.base import Account
from unihub.channels.registry import ADAPTERS
from unihub.channels.types import INTEGRATION_ACTIVE, ChannelId
from unihub.core.prepared import Prepared, detached, model_columns
from unihub.core.security import SecretBox
from unihub.core.validation import get_ignoring_case
from unihub.integrations.models import Integration

# Channels whose integrations get activities over the Events websocket when they have no
# webhook (Direct/BYOI and the WebChat widget).
_SOCKET_CHANNELS = frozenset({ChannelId.Direct, ChannelId.WebChat})
_WEBHOOK_CHANNELS = frozenset({ChannelId.Direct, ChannelId.System, ChannelId.Bot})
# Channels whose activities go out through the provider's own API: every channel with an
# adapter (`channels.registry`), so a new provider needs no line here.
_PROVIDER_CHANNELS = frozenset(ADAPTERS)


@dataclass(frozen=True, slots=True)
class LoadedIntegration:
    id: uuid.UUID
    tenant_id: uuid.UUID
    hub_id: uuid.UUID
    channel: ChannelId
    integration_type: str
    name: str
    status_id: int
    webhook_url: str | None = None
    echo: bool = False
    standby: bool = False  # a Bot watching conversations it does not control
    events: tuple[str, ...] = ()
    start: tuple[dict[str, Any], ...] = ()
    allowed_origins: tuple[str, ...] = ()
    public_signing_key: str | None = None
    encrypted_private_key: str | None = field(default=None, repr=False)
    # The stored configuration as parsed once here, for channel adapters (`account`).
    configuration: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    row: Integration | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_row(cls, row: Integration) -> LoadedIntegration:
        try:
            raw = orjson.loads(row.configuration or "{}")
        except orjson.JSONDecodeError:
            raw = {}
        conf: dict[str, Any] = raw if isinstance(raw, dict) else {}
        try:
            channel = ChannelId(row.channel_id)
        except ValueError:
            channel = ChannelId.Direct
        webhook = get_ignoring_case(conf, "webhookUrl")
        events = get_ignoring_case(conf, "events")
        start = get_ignoring_case(conf, "start")
        origins = get_ignoring_case(conf, "allowedOrigins")
        return cls(
            id=row.id,
            tenant_id=row.tenant_id,
            hub_id=row.hub_id,
            channel=channel,
            integration_type=row.integration_type,
            name=row.name,
            status_id=row.status_id,
            webhook_url=webhook if isinstance(webhook, str) and webhook.strip() else None,
            echo=get_ignoring_case(conf, "echo") is True,
            standby=get_ignoring_case(conf, "standby") is True,
            events=tuple(str(e).lower() for e in events) if isinstance(events, list) else (),
            start=tuple(m for m in start if isinstance(m, dict)) if isinstance(start, list) else (),
            allowed_origins=tuple(str(o) for o in origins) if isinstance(origins, list) else (),
            public_signing_key=row.public_signing_key,
            encrypted_private_key=row.private_signing_key,
            configuration=conf,
            row=row,
        )

    @property
    def active(self) -> bool:
        return self.status_id == INTEGRATION_ACTIVE

    @property
    def channel_name(self) -> str:
        return self.channel.name

    def private_signing_key(self, box: SecretBox) -> str | None:
        if not self.encrypted_private_key:
            return None
        return box.decrypt(self.encrypted_private_key)

    def account(self, box: SecretBox) -> Account:
        """This integration as its channel adapter sees it (secrets decrypted)."""
        assert self.row is not None, "loaded from a row"
        stored = orjson.loads(box.decrypt(self.row.secrets)) if self.row.secrets else {}
        return Account(self.id, self.tenant_id, self.configuration, stored)

    def delivery_channel(self) -> str | None:
        """How the engine hands this integration its activities: "webhook", "websocket",
        "provider" (SMS, Messenger, Slack: the provider's API), or None (nothing to send to)."""
        if self.channel in _PROVIDER_CHANNELS:
            return "provider"
        if self.webhook_url and self.channel in _WEBHOOK_CHANNELS | _SOCKET_CHANNELS:
            return "webhook"
        if self.channel in _SOCKET_CHANNELS:
            return "websocket"
        return None

    def subscribes(self, trigger: str) -> bool:
        """System event filters: `message` matches every `message:*`, else exact match."""
        trigger = trigger.lower()
        return any(trigger == f or trigger.startswith(f + ":") for f in self.events)


async def load(
    s: AsyncSession, tenant_id: uuid.UUID, integration_id: uuid.UUID
) -> LoadedIntegration | None:
    stmt = select(Integration).where(
        Integration.id == integration_id, Integration.tenant_id == tenant_id
    )
    row = (await s.execute(stmt)).scalar_one_or_none()
    return LoadedIntegration.from_row(row) if row is not None else None


async def load_any(s: AsyncSession, integration_id: uuid.UUID) -> LoadedIntegration | None:
    """By id alone, for callers that know no tenant (provider webhooks, the WebChat widget);
    they decide what the integration lets them reach."""
    row = await s.get(Integration, integration_id)
    return LoadedIntegration.from_row(row) if row is not None else None


async def load_for_provider(
    s: AsyncSession, channel: ChannelId, integration_id: uuid.UUID
) -> LoadedIntegration | None:
    """A provider webhook's integration, by the id in its URL, if it is of that channel."""
    integration = await load_any(s, integration_id)
    return integration if integration is not None and integration.channel == channel else None


async def load_by_inbound_id(
    s: AsyncSession, channel: ChannelId, inbound_id: str
) -> LoadedIntegration | None:
    """The integration a provider names by its own id (a Slack team)."""
    stmt = select(Integration).where(
        Integration.channel_id == int(channel), Integration.inbound_id == inbound_id
    )
    row = (await s.execute(stmt)).scalar_one_or_none()
    return LoadedIntegration.from_row(row) if row is not None else None


_BY_ID = Prepared(
    select(*model_columns(Integration)).where(Integration.id == bindparam("integration_id"))
)
_OF_HUB = Prepared(
    select(*model_columns(Integration))
    .where(Integration.hub_id == bindparam("hub_id"))
    .order_by(Integration.created, Integration.id)
)


def load_many(conn: Connection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LoadedIntegration]:
    """By ids, for the delivery worker (`Database.read_sync`): one Prepared point read per
    distinct id (a claim names few receivers), rows made into detached objects."""
    found: dict[uuid.UUID, LoadedIntegration] = {}
    for integration_id in set(ids):
        rows = _BY_ID.rows_in(conn, {"integration_id": integration_id})
        if rows:
            found[integration_id] = LoadedIntegration.from_row(detached(Integration, rows[0]))
    return found


def of_hub(conn: Connection, hub_id: uuid.UUID) -> list[LoadedIntegration]:
    """A hub's integrations, oldest first, on a connection in the caller's transaction (the
    accept path through `Database.read_sync`; `session.connection()` elsewhere). Rows made
    into detached objects (`core.prepared.detached`): no ORM loading."""
    rows = _OF_HUB.rows_in(conn, {"hub_id": hub_id})
    return [LoadedIntegration.from_row(detached(Integration, row)) for row in rows]


async def active_of_channel(s: AsyncSession, channel: ChannelId) -> list[LoadedIntegration]:
    """Every active integration of one channel, over all tenants (Telegram's pollers)."""
    stmt = select(Integration).where(
        Integration.channel_id == int(channel), Integration.status_id == INTEGRATION_ACTIVE
    )
    return [LoadedIntegration.from_row(row) for row in (await s.execute(stmt)).scalars()]
