"""The Integrations API: local channels (WebChat, Direct, System), rules and isolation."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import new_hub
from tests.conftest import TenantCreds, codes
from unihub.core.context import AppContext

KEY = re.compile(r"^[0-9A-F]{32}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

WEBCHAT = {"allowedOrigins": ["localhost", "Hubster.io"]}
DIRECT = {"integrationType": "Agent", "webhookUrl": "http://127.0.0.1:9/unihub"}
SYSTEM = {"webhookUrl": "http://127.0.0.1:9/events", "events": ["message:customer"]}


async def create(
    client: httpx.AsyncClient,
    t: TenantCreds,
    hub_id: str,
    channel: Any,
    configuration: Any,
    **extra: Any,
) -> httpx.Response:
    body = {"channelId": channel, "name": f"int-{uuid.uuid4().hex[:8]}"}
    body |= {"configuration": configuration} | extra
    return await client.post(f"/api/v1/integrations/hubs/{hub_id}", json=body, headers=t.portal)


@pytest.fixture
async def hub(client: httpx.AsyncClient, tenant: TenantCreds) -> str:
    return await new_hub(client, tenant)


async def test_webchat_create_get_list_delete(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str
) -> None:
    start = [{"type": "Text", "text": "Welcome! How can we help?"}]
    r = await client.post(
        f"/api/v1/integrations/hubs/{hub}",
        json={
            "channelId": "webchat",
            "Name": " Website ",
            "configuration": {"AllowedOrigins": ["localhost", "Hubster.io"], "start": start},
        },
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["channelId"] == "WebChat"
    assert got["integrationTypeId"] == "Customer"
    assert got["name"] == "Website"
    assert got["hubId"] == hub and got["tenantId"] == tenant.tenant_id
    assert got["statusId"] == 3000
    assert "inboundId" not in got
    assert got["configuration"] == {
        "allowedOrigins": ["localhost", "hubster.io"],
        "echo": True,
        "start": [{"type": "text", "text": "Welcome! How can we help?"}],
    }
    assert TS.match(got["created"]) and got["created"] == got["modified"]
    iid = got["integrationId"]

    r = await client.get(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 200 and r.json() == got

    for channel_type in ("WebChat", "WEBCHAT", "106"):
        r = await client.get(
            f"/api/v1/integrations/hubs/{hub}/{channel_type}", headers=tenant.portal
        )
        assert r.status_code == 200, r.text
        assert r.json() == [got]
    r = await client.get(f"/api/v1/integrations/hubs/{hub}/Direct", headers=tenant.portal)
    assert r.json() == []

    r = await client.get("/api/v1/integrations", params={"hubId": hub}, headers=tenant.portal)
    assert r.status_code == 200
    assert r.json() == {"pageNumber": 0, "pageSize": 50, "total": 1, "results": [got]}

    r = await client.delete(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 200 and r.content == b""
    r = await client.get(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [799]
    r = await client.delete(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [799]


async def test_webchat_bad_input(client: httpx.AsyncClient, tenant: TenantCreds, hub: str) -> None:
    r = await create(client, tenant, hub, "WebChat", {})
    assert r.status_code == 400 and codes(r) == [301]
    assert "configuration.allowedOrigins" in r.json()["errors"][0]["description"]
    r = await create(client, tenant, hub, "WebChat", {"allowedOrigins": []})
    assert r.status_code == 400 and codes(r) == [306]
    r = await create(client, tenant, hub, "WebChat", {"allowedOrigins": ["https://x.com/a b"]})
    assert r.status_code == 400 and codes(r) == [202]
    assert "configuration.allowedOrigins[0]" in r.json()["errors"][0]["description"]
    r = await create(
        client, tenant, hub, "WebChat", {**WEBCHAT, "start": [{"type": "text"}, {"type": "nope"}]}
    )
    assert r.status_code == 400
    descriptions = " ".join(e["description"] for e in r.json()["errors"])
    assert "configuration.start[0].text" in descriptions
    assert "configuration.start[1]" in descriptions
    r = await create(client, tenant, hub, "WebChat", {**WEBCHAT, "echo": "yes"})
    assert r.status_code == 400 and codes(r) == [302]
    # Nothing was stored by any of these.
    r = await client.get(f"/api/v1/integrations/hubs/{hub}/WebChat", headers=tenant.portal)
    assert r.json() == []


async def test_top_level_problems_are_all_reported(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str
) -> None:
    url = f"/api/v1/integrations/hubs/{hub}"
    r = await client.post(url, json={}, headers=tenant.portal)
    assert r.status_code == 400 and sorted(codes(r)) == [301, 301, 301]
    r = await client.post(
        url, json={"channelId": "Fax", "name": "x", "configuration": {}}, headers=tenant.portal
    )
    assert r.status_code == 400 and codes(r) == [206]
    r = await client.post(
        url,
        json={"channelId": 106, "name": "", "statusId": 3001, "configuration": {}},
        headers=tenant.portal,
    )
    assert r.status_code == 400 and sorted(codes(r)) == [206, 301, 301]
    r = await client.post(url, content=b"[1]", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [300]
    r = await client.post(
        url, json={"channelId": "WebChat", "name": "x", "configuration": [1]}, headers=tenant.portal
    )
    assert r.status_code == 400 and codes(r) == [302]


@pytest.mark.parametrize("channel", ["Bot", 2])
async def test_channels_not_supported_yet(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str, channel: Any
) -> None:
    r = await create(client, tenant, hub, channel, {"token": "x"})
    assert r.status_code == 400 and codes(r) == [206]
    assert "cannot be created yet" in r.json()["errors"][0]["description"]


@pytest.mark.parametrize("channel", ["Kik", "kik", 105])
async def test_kik_is_refused_because_its_platform_closed(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str, channel: Any
) -> None:
    r = await create(client, tenant, hub, channel, {"token": "x"})
    assert r.status_code == 400 and codes(r) == [206]
    description = r.json()["errors"][0]["description"]
    assert "Kik closed its bot platform" in description and "WebChat" in description


async def test_direct_keys_update_and_regenerate(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str
) -> None:
    r = await create(
        client, tenant, hub, 1, {**DIRECT, "echo": True, "start": [{"text": "hi", "type": "text"}]}
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["channelId"] == "Direct" and got["integrationTypeId"] == "Agent"
    cfg = got["configuration"]
    assert cfg["integrationType"] == "Agent" and cfg["echo"] is True
    assert cfg["webhookUrl"] == DIRECT["webhookUrl"]
    assert KEY.match(cfg["publicSigningKey"]) and KEY.match(cfg["privateSigningKey"])
    assert cfg["publicSigningKey"] != cfg["privateSigningKey"]
    iid = got["integrationId"]

    # Configuration is replaced whole: no webhookUrl now means websocket delivery.
    r = await client.put(
        f"/api/v1/integrations/{iid}",
        json={"configuration": {"IntegrationType": "bot"}, "statusId": 3002},
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    upd = r.json()
    assert upd["integrationTypeId"] == "Bot" and upd["statusId"] == 3002
    assert upd["configuration"] == {
        "integrationType": "Bot",
        "echo": False,
        "publicSigningKey": cfg["publicSigningKey"],
        "privateSigningKey": cfg["privateSigningKey"],
    }
    assert upd["modified"] > got["modified"] and upd["created"] == got["created"]

    r = await client.put(
        f"/api/v1/integrations/{iid}",
        json={"configuration": {"integrationType": "Customer", "regenerateKeys": True}},
        headers=tenant.portal,
    )
    assert r.status_code == 200
    new = r.json()["configuration"]
    assert "regenerateKeys" not in new
    assert KEY.match(new["publicSigningKey"]) and KEY.match(new["privateSigningKey"])
    assert new["publicSigningKey"] != cfg["publicSigningKey"]
    assert new["privateSigningKey"] != cfg["privateSigningKey"]
    assert (await client.get(f"/api/v1/integrations/{iid}", headers=tenant.portal)).json()[
        "statusId"
    ] == 3002


async def test_direct_bad_input(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str, ctx: AppContext
) -> None:
    r = await create(client, tenant, hub, "Direct", {"echo": True})
    assert r.status_code == 400 and codes(r) == [301]
    r = await create(client, tenant, hub, "Direct", {"integrationType": "System"})
    assert r.status_code == 400 and codes(r) == [206]
    r = await create(client, tenant, hub, "Direct", {**DIRECT, "webhookUrl": "ftp://x.example"})
    assert r.status_code == 400 and codes(r) == [202]
    r = await create(client, tenant, hub, "Direct", {**DIRECT, "webhookUrl": "/relative"})
    assert r.status_code == 400 and codes(r) == [202]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/hook", "http://localhost/hook", "https://10.1.2.3/x", "http://[::1]/"],
)
async def test_private_webhooks_refused_unless_allowed(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    hub: str,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    monkeypatch.setattr(ctx.settings, "allow_private_webhooks", False)
    r = await create(client, tenant, hub, "Direct", {**DIRECT, "webhookUrl": url})
    assert r.status_code == 400 and codes(r) == [202]
    assert "not a public internet address" in r.json()["errors"][0]["description"]
    r = await create(client, tenant, hub, "System", {**SYSTEM, "webhookUrl": url})
    assert r.status_code == 400 and codes(r) == [202]
    monkeypatch.setattr(ctx.settings, "allow_private_webhooks", True)
    r = await create(client, tenant, hub, "Direct", {**DIRECT, "webhookUrl": url})
    assert r.status_code == 200, r.text


async def test_system_create_update_and_bad_input(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str
) -> None:
    r = await create(
        client, tenant, hub, "system", {**SYSTEM, "events": ["Message:Agent", "message"]}
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["integrationTypeId"] == "System" and got["channelId"] == "System"
    assert got["configuration"]["events"] == ["message:agent", "message"]
    assert KEY.match(got["configuration"]["privateSigningKey"])

    r = await create(client, tenant, hub, "System", {"events": ["message"]})
    assert r.status_code == 400 and codes(r) == [301]
    r = await create(client, tenant, hub, "System", {"webhookUrl": SYSTEM["webhookUrl"]})
    assert r.status_code == 400 and codes(r) == [301]
    r = await create(client, tenant, hub, "System", {**SYSTEM, "events": []})
    assert r.status_code == 400 and codes(r) == [306]
    r = await create(client, tenant, hub, "System", {**SYSTEM, "events": ["message:system"]})
    assert r.status_code == 400 and codes(r) == [206]

    iid = got["integrationId"]
    r = await client.put(
        f"/api/v1/integrations/{iid}", json={"configuration": {"events": []}}, headers=tenant.portal
    )
    assert r.status_code == 400 and sorted(codes(r)) == [301, 306]
    r = await client.put(
        f"/api/v1/integrations/{iid}",
        json={"configuration": {**SYSTEM, "regenerateKeys": True}},
        headers=tenant.portal,
    )
    assert r.status_code == 200
    assert r.json()["configuration"]["events"] == ["message:customer"]
    assert r.json()["configuration"]["publicSigningKey"] != got["configuration"]["publicSigningKey"]


async def test_names_unique_per_hub_ignoring_case(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str
) -> None:
    r = await create(client, tenant, hub, "WebChat", WEBCHAT, name="Site")
    assert r.status_code == 200
    r = await create(client, tenant, hub, "Direct", DIRECT, name="  SITE ")
    assert r.status_code == 400 and codes(r) == [700]
    other = await new_hub(client, tenant)
    r = await create(client, tenant, other, "WebChat", WEBCHAT, name="site")
    assert r.status_code == 200
    r = await create(client, tenant, hub, "WebChat", WEBCHAT, name="Second")
    second = r.json()["integrationId"]
    r = await client.put(
        f"/api/v1/integrations/{second}", json={"name": "sItE"}, headers=tenant.portal
    )
    assert r.status_code == 400 and codes(r) == [700]
    r = await client.put(
        f"/api/v1/integrations/{second}", json={"name": "second"}, headers=tenant.portal
    )
    assert r.status_code == 200 and r.json()["name"] == "second"


async def test_update_rules(client: httpx.AsyncClient, tenant: TenantCreds, hub: str) -> None:
    r = await create(client, tenant, hub, "WebChat", WEBCHAT)
    got = r.json()
    iid = got["integrationId"]
    url = f"/api/v1/integrations/{iid}"
    r = await client.put(url, json={"channelId": "Direct"}, headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [206]
    assert "cannot change" in r.json()["errors"][0]["description"]
    r = await client.put(url, json={"name": None, "statusId": 1}, headers=tenant.portal)
    assert r.status_code == 400 and sorted(codes(r)) == [206, 302]
    r = await client.put(url, json={"configuration": {"echo": False}}, headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [301]
    # Same channel, unknown properties: nothing changes, modified stays.
    r = await client.put(url, json={"channelId": "WebChat", "other": 1}, headers=tenant.portal)
    assert r.status_code == 200 and r.json() == got

    # The reference's update path: POST /integrations/hubs/{integrationId}.
    r = await client.post(
        f"/api/v1/integrations/hubs/{iid}",
        json={"configuration": {"allowedOrigins": ["example.com:8443"], "echo": False}},
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    assert r.json()["configuration"] == {"allowedOrigins": ["example.com:8443"], "echo": False}
    assert r.json()["integrationId"] == iid
    r = await client.get(f"/api/v1/integrations/hubs/{hub}/WebChat", headers=tenant.portal)
    assert len(r.json()) == 1


async def test_order_of_checks(client: httpx.AsyncClient, tenant: TenantCreds, hub: str) -> None:
    missing = uuid.uuid4()
    r = await client.post(
        f"/api/v1/integrations/hubs/{missing}", content=b"", headers=tenant.portal
    )
    assert r.status_code == 404 and codes(r) == [699]
    r = await client.put(f"/api/v1/integrations/{missing}", content=b"x", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [799]
    for method, path in [
        ("POST", "/api/v1/integrations/hubs/nope"),
        ("PUT", "/api/v1/integrations/nope"),
        ("GET", "/api/v1/integrations/nope"),
        ("DELETE", "/api/v1/integrations/nope"),
        ("GET", "/api/v1/integrations/hubs/nope/WebChat"),
        ("GET", "/api/v1/integrations?hubId=nope"),
        ("GET", "/api/v1/integrations/slack/authorize?hubId=nope"),
    ]:
        r = await client.request(method, path, headers=tenant.portal)
        assert r.status_code == 400 and codes(r) == [203], (method, path)
    r = await client.get(f"/api/v1/integrations/hubs/{hub}/Fax", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [206]
    r = await client.get(f"/api/v1/integrations/hubs/{missing}/WebChat", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [699]
    r = await client.get(f"/api/v1/integrations?hubId={missing}", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [699]
    r = await client.get("/api/v1/integrations")
    assert r.status_code == 401
    r = await client.get("/api/v1/integrations", headers=tenant.engine)
    assert r.status_code == 403


async def test_tenant_isolation(
    client: httpx.AsyncClient, tenant: TenantCreds, other_tenant: TenantCreds, hub: str
) -> None:
    r = await create(client, tenant, hub, "WebChat", WEBCHAT)
    iid = r.json()["integrationId"]
    o = other_tenant.portal
    for method in ("GET", "DELETE"):
        r = await client.request(method, f"/api/v1/integrations/{iid}", headers=o)
        assert r.status_code == 404 and codes(r) == [799]
    r = await client.put(f"/api/v1/integrations/{iid}", json={"name": "x"}, headers=o)
    assert r.status_code == 404 and codes(r) == [799]
    r = await client.post(f"/api/v1/integrations/hubs/{iid}", json={"name": "x"}, headers=o)
    assert r.status_code == 404
    r = await create(client, other_tenant, hub, "WebChat", WEBCHAT)
    assert r.status_code == 404 and codes(r) == [699]
    r = await client.get(f"/api/v1/integrations/hubs/{hub}/WebChat", headers=o)
    assert r.status_code == 404 and codes(r) == [699]
    r = await client.get("/api/v1/integrations", headers=o)
    assert r.json()["total"] == 0
    r = await client.get(f"/api/v1/integrations/{iid}", headers=tenant.portal)
    assert r.status_code == 200


async def test_pagination_and_hub_cascade(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str
) -> None:
    other = await new_hub(client, tenant)
    ids = [
        (await create(client, tenant, hub, "WebChat", WEBCHAT)).json()["integrationId"]
        for _ in range(3)
    ]
    ids.append((await create(client, tenant, other, "System", SYSTEM)).json()["integrationId"])
    r = await client.get("/api/v1/integrations?pageSize=3", headers=tenant.portal)
    page0 = r.json()
    assert page0["total"] == 4 and len(page0["results"]) == 3
    r = await client.get("/api/v1/integrations?pageSize=3&pageNumber=1", headers=tenant.portal)
    page1 = r.json()
    assert [i["integrationId"] for i in page0["results"] + page1["results"]] == ids
    r = await client.get(f"/api/v1/integrations?hubId={other}", headers=tenant.portal)
    assert r.json()["total"] == 1
    r = await client.get("/api/v1/integrations?pageSize=0", headers=tenant.portal)
    assert r.status_code == 400

    assert (await client.delete(f"/api/v1/hubs/{hub}", headers=tenant.portal)).status_code == 200
    r = await client.get(f"/api/v1/integrations/{ids[0]}", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [799]
    r = await client.get("/api/v1/integrations", headers=tenant.portal)
    assert [i["integrationId"] for i in r.json()["results"]] == ids[3:]
