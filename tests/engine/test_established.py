"""The .NET client's conversation routes and WebChat scheme: `GetEstablished`,
`GetAllEstablishedByHubId` and `WebBearer` tokens, replayed as the client sends them."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub, make_integration
from tests.engine.receiver import Receiver
from tests.engine.test_webchat import ORIGIN, TOKEN, WEBCHAT, _chat
from unihub.core.context import AppContext

# The names the client's EstablishedConversationModel maps (Newtonsoft: case-insensitive,
# but underscores count), and the documented ones.
CLIENT_KEYS = {"tenant_id", "hub_id", "integration_id", "conversation_id", "token_id", "opened"}
DOC_KEYS = {"tenantId", "hubId", "integrationId", "conversationId", "tokenId", "openedDateTime"}
# RestSharp sends this header on GETs too, with no body.
JSON_GET = {"Content-Type": "application/json"}


async def _establish(
    client: httpx.AsyncClient, t: TenantCreds, integration_id: str, binding: str
) -> dict[str, object]:
    # As Newtonsoft writes the client's EstablishConversationRequestModel (PascalCase).
    body = (
        f'{{"IntegrationId":"{integration_id}","Binding":"{binding}","ChannelType":"Direct",'
        '"Properties":{"profile":{"full name":"Bob"},"additional":{}}}'
    )
    r = await client.post(
        "/api/v1/conversations/establish",
        content=body.encode(),
        headers={**t.engine, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    out: dict[str, object] = r.json()
    return out


async def test_establish_answers_both_spellings(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds
) -> None:
    hub = await make_hub(client, tenant)
    customer = await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub["hubId"])
    established = await _establish(client, tenant, customer.id, "both")
    assert set(established) >= CLIENT_KEYS and set(established) >= DOC_KEYS
    assert established["conversation_id"] == established["conversationId"]
    assert established["opened"] == established["openedDateTime"]
    assert established["isNew"] is True
    assert established["properties"]["profile"]["full name"] == "Bob"  # type: ignore[index]


async def test_get_established_by_id(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, other_tenant: TenantCreds
) -> None:
    hub = await make_hub(client, tenant)
    customer = await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub["hubId"])
    established = await _establish(client, tenant, customer.id, "by-id")
    cid = str(established["conversation_id"])
    url = f"/api/v1/conversations/{cid}/established"

    r = await client.get(url, headers={**tenant.engine, **JSON_GET})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["conversation_id"] == cid and got["integration_id"] == customer.id
    assert got["hub_id"] == hub["hubId"] and got["tenant_id"] == tenant.tenant_id
    assert got["token_id"] == established["token_id"]
    assert got["properties"]["profile"]["full name"] == "Bob"
    assert "closed" not in got and "isNew" not in got

    await client.post(f"/api/v1/conversations/{cid}/close", headers=tenant.engine)
    closed = (await client.get(url, headers=tenant.engine)).json()
    assert closed["closed"] == closed["closedDateTime"] and closed["closed"].endswith("Z")

    # another tenant's, or none at all: 404; a portal token: 403; a bad id: 400
    for headers, path in (
        (other_tenant.engine, url),
        (tenant.engine, f"/api/v1/conversations/{uuid.uuid4()}/established"),
    ):
        r = await client.get(path, headers=headers)
        assert r.status_code == 404 and codes(r) == [6500]
    assert (await client.get(url, headers=tenant.portal)).status_code == 403
    r = await client.get("/api/v1/conversations/nope/established", headers=tenant.engine)
    assert r.status_code == 400 and codes(r) == [203]


async def test_hub_established_lists_open_conversations(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, other_tenant: TenantCreds
) -> None:
    hub = await make_hub(client, tenant)
    customer = await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub["hubId"])
    first = await _establish(client, tenant, customer.id, "one")
    second = await _establish(client, tenant, customer.id, "two")
    gone = await _establish(client, tenant, customer.id, "three")
    await client.post(
        f"/api/v1/conversations/{gone['conversation_id']}/close", headers=tenant.engine
    )
    url = f"/api/v1/conversations/hubs/{hub['hubId']}/established"

    r = await client.get(url, headers={**tenant.engine, **JSON_GET})
    assert r.status_code == 200, r.text
    listed = r.json()
    assert isinstance(listed, list)  # a plain array, as the client reads it
    assert [c["conversation_id"] for c in listed] == [
        second["conversation_id"],
        first["conversation_id"],
    ]  # most recently active first, closed ones left out
    assert all(set(c) >= CLIENT_KEYS for c in listed)

    empty = await make_hub(client, tenant)
    r = await client.get(
        f"/api/v1/conversations/hubs/{empty['hubId']}/established", headers=tenant.engine
    )
    assert r.status_code == 200 and r.json() == []
    r = await client.get(url, headers=other_tenant.engine)
    assert r.status_code == 404 and codes(r) == [699]


async def test_webchat_token_is_webbearer_and_that_scheme_works(
    client: httpx.AsyncClient, ctx: AppContext, tenant: TenantCreds, receiver: Receiver
) -> None:
    chat = await _chat(client, ctx, tenant, receiver)
    answer = await client.get(TOKEN.format(chat.webchat_id), headers=ORIGIN)
    assert answer.json()["token_type"] == "WebBearer"
    web = {"Authorization": f"WebBearer {answer.json()['access_token']}", **ORIGIN}

    r = await client.post(
        "/api/v1/conversations/establish",
        json={"IntegrationId": chat.webchat_id, "Binding": "visitor-wb", "ChannelType": "WebChat"},
        headers=web,
    )
    assert r.status_code == 200, r.text
    cid = r.json()["conversation_id"]
    r = await client.post(
        WEBCHAT.format(cid),
        json={"type": "message", "message": {"type": "text", "text": "hi"}},
        headers=web,
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/v1/conversations/{cid}/established", headers=web)
    assert r.status_code == 200 and r.json()["conversation_id"] == cid
    # Bearer keeps working for the same token
    bearer = {"Authorization": f"Bearer {answer.json()['access_token']}", **ORIGIN}
    r = await client.get(f"/api/v1/conversations/{cid}/established", headers=bearer)
    assert r.status_code == 200
    # a WebChat token reaches only its own integration's conversations
    hub = await make_hub(client, tenant)
    customer = await make_integration(ctx.db, ctx.box, tenant.tenant_id, hub["hubId"])
    other = await _establish(client, tenant, customer.id, "not-yours")
    r = await client.get(
        f"/api/v1/conversations/{other['conversation_id']}/established", headers=web
    )
    assert r.status_code == 404
