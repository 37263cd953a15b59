"""The reference's .NET client (`hubsterio/dotnet-client`, `Hubster.Abstractions`): its request
bodies replayed byte for byte, and the answers checked for what its Newtonsoft models read."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import orjson
from fastapi.routing import APIRoute

from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub, make_integration
from tests.engine.receiver import Receiver, wait_for
from unihub.app import domain_routers
from unihub.core.context import AppContext

EST = "/api/v1/conversations/establish"
CUSTOMER = "/inbound/customer/v1/direct/activity/{}"
BUSINESS = "/inbound/business/v1/direct/activity/{}"
JSON = {"Content-Type": "application/json"}
FLOWS = {"Default", "Ignore", "LogOnly", "AutoReplay"}
INTEGRATION_TYPES = {"None", "Hubster", "Customer", "Agent", "Bot", "System"}


def _raw(t: TenantCreds, kind: str = "engine") -> dict[str, str]:
    return {**(t.engine if kind == "engine" else t.portal), **JSON}


async def _setup(
    client: httpx.AsyncClient, ctx: AppContext, t: TenantCreds, receiver: Receiver
) -> tuple[str, str, str]:
    hub = await make_hub(client, t)
    customer = await make_integration(ctx.db, ctx.box, t.tenant_id, hub["hubId"])
    agent = await make_integration(
        ctx.db,
        ctx.box,
        t.tenant_id,
        hub["hubId"],
        integration_type="Agent",
        webhook_url=receiver.url("agent"),
    )
    receiver.trust(agent.public_key, agent.private_key)
    r = await client.post(
        EST,
        content=b'{"IntegrationId":"' + customer.id.encode() + b'","Binding":"b-1",'
        b'"ChannelType":null,"Properties":{"Profile":{"Full name":"bob"},"Additional":{}}}',
        headers=_raw(t),
    )
    assert r.status_code == 200, r.text
    return customer.id, agent.id, r.json()["conversationId"]


def _newtonsoft_safe(activity: dict[str, Any]) -> None:
    """What makes the client's `DirectActivityModel` throw, or read nothing useful."""
    assert isinstance(activity.get("isEcho"), bool), activity
    assert activity.get("flowProcess", "Default") in FLOWS, activity
    sender = activity["sender"]
    assert sender["integrationType"] in INTEGRATION_TYPES, activity
    for source in (sender, activity.get("recipient") or {}):
        assert isinstance(source.get("channelData", ""), str), activity
    if "event" in activity and "payload" in activity["event"]:
        assert isinstance(activity["event"]["payload"], dict), activity


async def test_establish_pascal_case_with_null_channel_type_keeps_the_profile(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, _, cid = await _setup(client, ctx, tenant, receiver)
    got = await client.get(f"/api/v1/conversations/{cid}", headers=_raw(tenant))
    assert got.status_code == 200, got.text
    profile = got.json()["properties"]["profile"]
    assert profile["full name"] == "bob"
    assert "Full name" not in profile and "Profile" not in got.json()["properties"]


async def test_send_without_type_is_inferred_from_the_node(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, _, cid = await _setup(client, ctx, tenant, receiver)
    r = await client.post(
        CUSTOMER.format(cid),
        content=b'{"isEcho":false,"message":{"Text":"hello","Type":"text"}}',
        headers=_raw(tenant),
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        CUSTOMER.format(cid),
        content=b'{"IsEcho":false,"Message":{"Text":"again","Type":"text"}}',
        headers=_raw(tenant),
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        CUSTOMER.format(cid),
        content=b'{"isEcho":false,"event":{"type":"typing_on"}}',
        headers=_raw(tenant),
    )
    assert r.status_code == 200, r.text
    await wait_for(lambda: len(receiver.at("agent")) == 3, what="three webhooks")
    got = [x.activity for x in receiver.at("agent")]
    assert [a["type"] for a in got] == ["message", "message", "event"]
    assert got[1]["message"] == {"type": "text", "text": "again"}
    for a in got:
        _newtonsoft_safe(a)


async def test_send_with_both_or_neither_node_keeps_its_errors(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, _, cid = await _setup(client, ctx, tenant, receiver)
    r = await client.post(CUSTOMER.format(cid), content=b'{"isEcho":false}', headers=_raw(tenant))
    assert r.status_code == 400 and codes(r) == [5003], r.text
    r = await client.post(
        CUSTOMER.format(cid),
        content=b'{"message":{"type":"text","text":"x"},"event":{"type":"seen"}}',
        headers=_raw(tenant),
    )
    assert r.status_code == 400 and codes(r) == [5004], r.text


async def test_sender_action_forms_are_events(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, _, cid = await _setup(client, ctx, tenant, receiver)
    bodies = [
        b'{"type":"sender_action","senderAction":{"action":"typing_on"}}',
        b'{"senderAction":{"action":"seen"}}',
        # The Aug-Nov 2020 client.
        b'{"type":"action","action":{"type":"typing_off"}}',
        # `DirectSenderActionModel.Payload` is a string: JSON text of the object.
        b'{"senderAction":{"action":"payload","payloadType":"cart","payload":"{\\"sku\\":1}"}}',
    ]
    for body in bodies:
        r = await client.post(CUSTOMER.format(cid), content=body, headers=_raw(tenant))
        assert r.status_code == 200, (body, r.text)
    await wait_for(lambda: len(receiver.at("agent")) == 4, what="four events")
    got = [x.activity for x in receiver.at("agent")]
    assert [a["event"] for a in got] == [
        {"type": "typing_on"},
        {"type": "seen"},
        {"type": "typing_off"},
        {"type": "payload", "payloadType": "cart", "payload": {"sku": 1}},
    ]
    assert all(a["type"] == "event" for a in got)
    for x in receiver.at("agent"):
        _newtonsoft_safe(x.activity)
        assert x.body["conversationProperties"]["profile"]["full name"] == "bob"


async def test_source_numbers_and_nulls(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, agent, cid = await _setup(client, ctx, tenant, receiver)
    body = (
        b'{"Type":"message","Sender":{"IntegrationId":"' + agent.encode() + b'",'
        b'"IntegrationType":3,"ChannelType":1,"TokenId":null,"ChannelData":null},'
        b'"Recipient":{"IntegrationType":"customer","ChannelType":null},'
        b'"Message":{"Type":"text","Text":"hi","Items":null}}'
    )
    r = await client.post(BUSINESS.format(cid), content=body, headers=_raw(tenant))
    assert r.status_code == 200, r.text
    bad = b'{"type":"message","sender":{"channelType":[1]},"message":{"type":"text","text":"x"}}'
    r = await client.post(CUSTOMER.format(cid), content=bad, headers=_raw(tenant))
    assert r.status_code == 400, r.text
    for err in r.json()["errors"]:
        assert ".str" not in err["description"] and ".int" not in err["description"], err
        assert "function-" not in err["description"] and "literal[" not in err["description"]


async def test_attachment_without_label_and_items_with_media_url(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, _, cid = await _setup(client, ctx, tenant, receiver)
    attachment = b'{"message":{"type":"attachment","url":"https://example.com/a.pdf"}}'
    r = await client.post(CUSTOMER.format(cid), content=attachment, headers=_raw(tenant))
    assert r.status_code == 200, r.text
    carousel = (
        b'{"message":{"type":"carousel","items":[{"title":"one",'
        b'"mediaUrl":"https://example.com/1.png"}]}}'
    )
    r = await client.post(CUSTOMER.format(cid), content=carousel, headers=_raw(tenant))
    assert r.status_code == 200, r.text
    await wait_for(lambda: len(receiver.at("agent")) == 2, what="two messages")
    item = receiver.at("agent")[1].activity["message"]["items"][0]
    assert item["mediaUrl"] == "https://example.com/1.png"
    assert item["url"] == "https://example.com/1.png" and item["urlType"] == "image"


async def test_history_reads_the_reference_type_numbers(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    _, _, cid = await _setup(client, ctx, tenant, receiver)
    r = await client.post(
        CUSTOMER.format(cid),
        content=b'{"message":{"type":"text","text":"hello"}}',
        headers=_raw(tenant),
    )
    assert r.status_code == 200, r.text
    url = f"/api/v1/interactions/activities/{cid}"
    # The client asks with `type.ToString()`; numbers are the reference's (Customer = 2).
    for side in ("Customer", "customer", "2"):
        got = await client.get(url, params={"leid": 0, "type": side}, headers=_raw(tenant))
        assert got.status_code == 200, got.text
        assert [a["message"]["text"] for a in got.json()] == ["hello"]
        for a in got.json():
            _newtonsoft_safe(a)
    agent_side = await client.get(url, params={"leid": 0, "type": 3}, headers=_raw(tenant))
    assert agent_side.status_code == 200 and len(agent_side.json()) == 1
    wrong = await client.get(url, params={"type": 1}, headers=_raw(tenant))
    assert wrong.status_code == 400 and codes(wrong) == [206]


async def test_direct_configuration_numbers_and_update_without_type(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub = await make_hub(client, tenant)
    made = []
    for number, name in ((2, "Customer"), (3, "Agent"), (4, "Bot")):
        r = await client.post(
            f"/api/v1/integrations/hubs/{hub['hubId']}",
            content=orjson.dumps(
                {
                    "ChannelId": "Direct",
                    "Name": f"d{number}",
                    "Configuration": {"IntegrationType": number, "Echo": True},
                }
            ),
            headers=_raw(tenant, "portal"),
        )
        assert r.status_code == 200, r.text
        assert r.json()["integrationTypeId"] == name
        assert r.json()["configuration"]["echo"] is True
        made.append(r.json())
    for bad in (0, 1, 5, "System", "None"):
        r = await client.post(
            f"/api/v1/integrations/hubs/{hub['hubId']}",
            json={"channelId": "Direct", "name": "x", "configuration": {"integrationType": bad}},
            headers=tenant.portal,
        )
        assert r.status_code == 400 and codes(r) == [206], (bad, r.text)
    agent = made[1]
    r = await client.post(
        f"/api/v1/integrations/hubs/{agent['integrationId']}",
        content=b'{"configuration":{"Echo":true,"webhookUrl":"http://127.0.0.1:9/hook"}}',
        headers=_raw(tenant, "portal"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["integrationTypeId"] == "Agent"
    assert r.json()["configuration"]["integrationType"] == "Agent"
    assert r.json()["configuration"]["webhookUrl"] == "http://127.0.0.1:9/hook"


async def test_get_requests_with_json_content_type_and_no_body(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    customer, _, cid = await _setup(client, ctx, tenant, receiver)
    hub = await make_hub(client, tenant)
    portal = [
        "/api/v1/hubs",
        f"/api/v1/hubs/{hub['hubId']}",
        f"/api/v1/integrations/{customer}",
        f"/api/v1/integrations?hubId={hub['hubId']}",
        f"/api/v1/integrations/hubs/{hub['hubId']}/Direct",
    ]
    engine = [
        f"/api/v1/conversations/{cid}",
        f"/api/v1/interactions/activities/{cid}?leid=0&type=Customer",
    ]
    for path in portal:
        r = await client.get(path, headers=_raw(tenant, "portal"))
        assert r.status_code == 200, (path, r.text)
    for path in engine:
        r = await client.get(path, headers=_raw(tenant))
        assert r.status_code == 200, (path, r.text)


async def test_token_form_with_json_or_charset_content_type(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    form = (
        f"grant_type=client_credentials&client_id={tenant.engine_client_id}"
        f"&client_secret={tenant.engine_secret}"
    ).encode()
    for content_type in (
        "application/json",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/x-www-form-urlencoded",
    ):
        r = await client.post(
            "/connect/token", content=form, headers={"Content-Type": content_type}
        )
        assert r.status_code == 200, (content_type, r.text)
        assert r.json()["access_token"]


async def test_error_answers_always_carry_an_integer_code(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    r = await client.get(f"/api/v1/conversations/{uuid.uuid4()}", headers=_raw(tenant))
    assert r.status_code == 404
    assert all(isinstance(e["code"], int) for e in r.json()["errors"])


async def test_every_get_route_ignores_a_json_content_type_without_body(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    """RestSharp adds `Content-Type: application/json` to every request, GETs included."""
    paths = {
        re.sub(r"\{[^}]+\}", str(uuid.uuid4()), r.path)
        for router in domain_routers()
        for r in router.routes
        if isinstance(r, APIRoute) and "GET" in r.methods
    }
    assert len(paths) > 5
    for path in sorted(paths):
        for kind in ("portal", "engine"):
            r = await client.get(path, headers=_raw(tenant, kind))
            assert r.status_code < 500, (path, r.text)
            if r.status_code >= 400 and r.headers.get("content-type", "").startswith(
                "application/json"
            ):
                body = r.json()
                for err in body.get("errors", []):
                    assert isinstance(err["code"], int), (path, body)
                    assert err["code"] not in (300, 3000, 5000), (path, body)


async def test_start_messages_in_pascal_case_are_stored_in_camel_case(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub = await make_hub(client, tenant)
    r = await client.post(
        f"/api/v1/integrations/hubs/{hub['hubId']}",
        content=b'{"ChannelId":1,"Name":"c","Configuration":{"IntegrationType":"CUSTOMER",'
        b'"WebhookUrl":null,"Start":[{"Type":"Text","Text":"Welcome"}]}}',
        headers=_raw(tenant, "portal"),
    )
    assert r.status_code == 200, r.text
    config = r.json()["configuration"]
    assert config["integrationType"] == "Customer" and "webhookUrl" not in config
    assert config["start"] == [{"type": "text", "text": "Welcome"}]
