"""Test helpers for the engine: hubs through the Portal API, integrations as database rows
(the Integrations API lives on another branch; the storage conventions are shared)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.conftest import TenantCreds
from unihub.channels.types import ChannelId
from unihub.core.database import Database
from unihub.core.security import SecretBox, new_signing_key_hex
from unihub.integrations.models import Integration


@dataclass
class MadeIntegration:
    id: str
    public_key: str
    private_key: str
    integration_type: str


async def make_hub(client: httpx.AsyncClient, t: TenantCreds, **body: Any) -> dict[str, Any]:
    payload = {"name": f"hub-{uuid.uuid4().hex[:8]}", "description": "engine test", **body}
    r = await client.post("/api/v1/hubs", json=payload, headers=t.portal)
    assert r.status_code == 200, r.text
    hub: dict[str, Any] = r.json()
    return hub


async def make_integration(
    db: Database,
    box: SecretBox,
    tenant_id: str,
    hub_id: str,
    *,
    channel: ChannelId = ChannelId.Direct,
    integration_type: str = "Customer",
    webhook_url: str | None = None,
    echo: bool = False,
    events: list[str] | None = None,
    start: list[dict[str, Any]] | None = None,
    status_id: int = 3000,
) -> MadeIntegration:
    config: dict[str, Any] = {}
    if channel == ChannelId.Direct:
        config["integrationType"] = integration_type
    if webhook_url is not None:
        config["webhookUrl"] = webhook_url
    if echo:
        config["echo"] = True
    if events is not None:
        config["events"] = events
    if start is not None:
        config["start"] = start
    public, private = new_signing_key_hex(), new_signing_key_hex()
    name = f"{integration_type}-{uuid.uuid4().hex[:8]}"
    row = Integration(
        id=uuid.uuid4(),
        tenant_id=uuid.UUID(tenant_id),
        hub_id=uuid.UUID(hub_id),
        channel_id=int(channel),
        integration_type=integration_type,
        name=name,
        name_key=name.casefold(),
        status_id=status_id,
        configuration=orjson.dumps(config).decode(),
        public_signing_key=public,
        private_signing_key=box.encrypt(private),
    )
    async with db.write() as s:
        s.add(row)
    return MadeIntegration(str(row.id), public, private, integration_type)


async def hub_with_agent(
    http: httpx.AsyncClient,
    portal: dict[str, str],
    db: Database,
    box: SecretBox,
    tenant_id: str,
    receiver: Any,
) -> tuple[MadeIntegration, MadeIntegration]:
    """A new hub (through a served Portal API) with a Direct customer and an Agent whose
    webhook is `receiver`'s, which trusts its keys: (customer, agent)."""
    r = await http.post("/api/v1/hubs", json={"name": "h", "description": "h"}, headers=portal)
    hub_id = r.json()["hubId"]
    customer = await make_integration(db, box, tenant_id, hub_id)
    agent = await make_integration(
        db, box, tenant_id, hub_id, integration_type="Agent", webhook_url=receiver.url("agent")
    )
    receiver.trust(agent.public_key, agent.private_key)
    return customer, agent
