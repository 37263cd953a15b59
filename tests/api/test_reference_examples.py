"""The reference documentation's request examples, sent verbatim.

Each example is read from `shared/reference/hubster-docs/` at the line of its
`.. code-block:: JSON` directive, so the test sends the page's own bytes. Names of webhook
hosts are answered by a fake resolver (no DNS query leaves the machine). docs/compatibility.md
lists the examples that are not sent and why.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TenantCreds
from tests.engine.factories import make_integration
from unihub.core.context import AppContext

DOCS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "hubster-docs"
if not DOCS.exists():  # the checkout may sit elsewhere than the shared folder
    DOCS = Path("/work/shared/reference/hubster-docs")

pytestmark = pytest.mark.skipif(not DOCS.exists(), reason="reference docs not present")


def example(page: str, line: int) -> Any:
    """The JSON of the code block whose directive is at `line` (1-based) of `page`."""
    lines = (DOCS / page).read_text().split("\n")
    directive = lines[line - 1]
    assert directive.strip().lower() == ".. code-block:: json", (page, line, directive)
    indent = len(directive) - len(directive.lstrip())
    body = []
    for text in lines[line:]:
        if text.strip() and len(text) - len(text.lstrip()) <= indent:
            break
        body.append(text)
    return json.loads("\n".join(body))


@pytest.fixture
async def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every name resolves to a public documentation address (RFC 5737's is not public)."""
    loop = asyncio.get_running_loop()

    async def getaddrinfo(host: Any, port: Any, **_: Any) -> Any:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", int(port or 80)))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


async def _hub(client: httpx.AsyncClient, t: TenantCreds) -> str:
    r = await client.post(
        "/api/v1/hubs",
        headers=t.portal,
        json={"name": f"h-{uuid.uuid4().hex[:8]}", "description": "d"},
    )
    assert r.status_code == 200, r.text
    hub_id: str = r.json()["hubId"]
    return hub_id


async def test_portal_hub_and_secret_examples(client: httpx.AsyncClient, tenant: TenantCreds):
    r = await client.post(
        "/api/v1/hubs", headers=tenant.portal, json=example("portal/1_hub.rst", 60)
    )
    assert r.status_code == 200, r.text
    hub_id = r.json()["hubId"]
    update = example("portal/1_hub.rst", 171)
    update["name"] = update["name"] + " (renamed)"  # the page reuses the created name
    r = await client.put(f"/api/v1/hubs/{hub_id}", headers=tenant.portal, json=update)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/tenants/clients/{tenant.portal_client_id}/tokens",
        headers=tenant.portal,
        json=example("portal/0_tenant.rst", 156),
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("channel", "line"),
    [("WebChat", 205), ("Direct", 263), ("System", 319)],
)
async def test_integration_configuration_examples(
    client: httpx.AsyncClient, tenant: TenantCreds, public_dns: None, channel: str, line: int
):
    hub_id = await _hub(client, tenant)
    body = {
        "channelId": channel,
        "name": channel,
        "configuration": example("portal/2_integration.rst", line),
    }
    r = await client.post(f"/api/v1/integrations/hubs/{hub_id}", headers=tenant.portal, json=body)
    assert r.status_code == 200, r.text


_CREATED: dict[str, dict[str, Any]] = {
    "Direct": {"integrationType": "Agent"},
    "WebChat": {"allowedOrigins": ["example.com"]},
    "System": {"webhookUrl": "https://hooks.example.com/in", "events": ["message"]},
}


@pytest.mark.parametrize(
    ("kind", "line"), [("Direct", 468), ("WebChat", 500), ("Direct", 560), ("System", 626)]
)
async def test_integration_update_examples(
    client: httpx.AsyncClient, tenant: TenantCreds, public_dns: None, kind: str, line: int
):
    hub_id = await _hub(client, tenant)
    configuration = _CREATED[kind]
    created = await client.post(
        f"/api/v1/integrations/hubs/{hub_id}",
        headers=tenant.portal,
        json={"channelId": kind, "name": "to update", "configuration": configuration},
    )
    assert created.status_code == 200, created.text
    integration_id = created.json()["integrationId"]
    body = example("portal/2_integration.rst", line)
    if "configuration" not in body:  # the page shows the configuration alone
        body = {"configuration": body}
    # The reference's update path: POST /api/v1/integrations/hubs/{integrationId}
    r = await client.post(
        f"/api/v1/integrations/hubs/{integration_id}", headers=tenant.portal, json=body
    )
    assert r.status_code == 200, r.text


async def test_command_examples(client: httpx.AsyncClient, tenant: TenantCreds):
    hub_id = await _hub(client, tenant)
    r = await client.post(
        f"/api/v1/commands/transfers/{hub_id}",
        headers=tenant.portal,
        json=example("portal/3_transfer_commands.rst", 75),
    )
    assert r.status_code == 200, r.text
    update = example("portal/3_transfer_commands.rst", 186)
    update["name"] = update["name"] + " 2"  # the page reuses the created name
    r = await client.put(
        f"/api/v1/commands/transfers/{r.json()['commandId']}", headers=tenant.portal, json=update
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v1/commands/responses/{hub_id}",
        headers=tenant.portal,
        json=example("portal/4_response_commands.rst", 75),
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("page", "line"), [("engine/2_direct.rst", 78), ("4_activities.rst", 153)])
async def test_engine_activity_examples_are_templates_and_refused_clearly(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, page: str, line: int
):
    """These pages show `"type": "message | event"` and both nodes: a template of two
    choices, not a value. Refused with the code naming the property (docs/compatibility.md);
    filled in with one choice, the same body is accepted."""
    hub_id = await _hub(client, tenant)
    customer = await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub_id)
    await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub_id, integration_type="Agent")
    r = await client.post(
        "/api/v1/conversations/establish",
        headers=tenant.engine,
        json={"integrationId": customer.id, "binding": "docs", "channelType": "Direct"},
    )
    cid = r.json()["conversationId"]
    url = f"/inbound/customer/v1/direct/activity/{cid}"
    body = example(page, line)
    assert body["type"] == "message | event"
    r = await client.post(url, headers=tenant.engine, json=body)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == 206, r.text
    assert "'type'" in r.json()["errors"][0]["description"]
    # the page shows both nodes as well: pick the message, as a client fills the template
    chosen = {k: v for k, v in body.items() if k != "event"} | {"type": "message"}
    if "sender" in chosen:  # the page's ids are placeholders: speak as this conversation's
        chosen["sender"] = {**chosen["sender"], "integrationId": customer.id}
    r = await client.post(url, headers=tenant.engine, json=chosen)
    assert r.status_code == 200, r.text
    assert r.json()["externalId"] == body["externalId"]
