"""Twilio SMS both ways: signed webhooks in, Messages.json out through the outbox."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub
from tests.engine.receiver import Receiver, wait_for
from tests.engine.test_delivery import wait_for_async
from tests.fakes.twilio import FakeTwilio
from tests.providers.helpers import (
    conversation_count,
    deliveries_to,
    direct_agent,
    reply,
    send_sms,
    twilio_integration,
)
from unihub.core.context import AppContext
from unihub.delivery.engine import EngineRuntime

CUSTOMER = "+15551230001"


async def test_sms_in_to_direct_agent_and_reply_out_as_sms(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_twilio: FakeTwilio,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    tw = await twilio_integration(client, tenant, hub, fake_twilio)
    agent = await direct_agent(ctx, tenant, hub, receiver)

    r = await send_sms(client, tw, {"From": CUSTOMER, "Body": "hello", "MessageSid": "SM1"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml") and "<Response/>" in r.text
    await wait_for(lambda: len(receiver.at("agent")) == 1, what="agent webhook")
    got = receiver.at("agent")[0]
    activity = got.activity
    assert activity["message"] == {"type": "text", "text": "hello"}
    assert activity["sender"]["channelType"] == "TwilioSMS"
    assert activity["externalId"] == "SM1"
    cid = got.body["conversationId"]

    # The same number keeps its conversation.
    await send_sms(client, tw, {"From": CUSTOMER, "Body": "again", "MessageSid": "SM2"})
    await wait_for(lambda: len(receiver.at("agent")) == 2, what="second webhook")
    assert receiver.at("agent")[1].body["conversationId"] == cid
    assert await conversation_count(ctx, tw.id) == 1

    await reply(client, tenant, cid, agent.id, {"type": "text", "text": "hi back"})
    await wait_for(lambda: len(fake_twilio.sent) == 1, what="SMS out")
    assert fake_twilio.sent[0] == {"To": CUSTOMER, "From": tw.phone, "Body": "hi back"}
    [call] = fake_twilio.requests_to("/Messages.json")
    assert call.basic_auth == (tw.account_sid, tw.auth_token)
    assert call.path == f"/2010-04-01/Accounts/{tw.account_sid}/Messages.json"

    # An image becomes MMS media; a card, which SMS cannot show, its text fallback.
    await reply(
        client,
        tenant,
        cid,
        agent.id,
        {"type": "image", "url": "https://example.com/a.png", "title": "Your receipt"},
    )
    await reply(
        client,
        tenant,
        cid,
        agent.id,
        {
            "type": "card",
            "title": "Order 42",
            "actions": [{"type": "link", "title": "Track", "url": "https://example.com/t/42"}],
        },
    )
    await wait_for(lambda: len(fake_twilio.sent) == 3, what="media and card SMS")
    assert fake_twilio.sent[1]["MediaUrl"] == "https://example.com/a.png"
    assert fake_twilio.sent[1]["Body"] == "Your receipt"
    assert fake_twilio.sent[2]["Body"] == "Order 42\nTrack: https://example.com/t/42"
    assert "MediaUrl" not in fake_twilio.sent[2]

    async def all_delivered() -> bool:  # recorded just after the provider answered
        return all(d.status == "delivered" for d in await deliveries_to(ctx, tw.id))

    await wait_for_async(all_delivered)
    assert len(await deliveries_to(ctx, tw.id)) == 3


async def test_bad_twilio_signature_is_refused_and_nothing_stored(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_twilio: FakeTwilio,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    tw = await twilio_integration(client, tenant, hub, fake_twilio)
    await direct_agent(ctx, tenant, hub, receiver)
    for signature in ("", "bm90IHRoZSBzaWduYXR1cmU="):
        r = await send_sms(client, tw, {"From": CUSTOMER, "Body": "x"}, signature=signature)
        assert r.status_code == 403 and codes(r) == [120]
        assert "ENG000120" in r.text
    # Signed with another account's token.
    forged = tw.__class__(tw.id, tw.account_sid, "someone-elses-token", tw.phone)
    assert (await send_sms(client, forged, {"From": CUSTOMER, "Body": "x"})).status_code == 403
    assert await conversation_count(ctx, tw.id) == 0
    unknown = await client.post(
        "/inbound/twilio/v1/sms/7d0c3a4e-8f57-4c53-9d55-111111111111", data={"From": CUSTOMER}
    )
    assert unknown.status_code == 404
    bad_id = await client.post("/inbound/twilio/v1/sms/not-a-guid", data={"From": CUSTOMER})
    assert bad_id.status_code == 400


async def test_twilio_outage_is_retried_and_refusal_fails_at_once(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_twilio: FakeTwilio,
    engine: EngineRuntime,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    tw = await twilio_integration(client, tenant, hub, fake_twilio)
    agent = await direct_agent(ctx, tenant, hub, receiver)
    await send_sms(client, tw, {"From": CUSTOMER, "Body": "hello"})
    await wait_for(lambda: len(receiver.at("agent")) == 1, what="agent webhook")
    cid = receiver.at("agent")[0].body["conversationId"]

    fake_twilio.mode, fake_twilio.mode_paths = "error500", {"/Messages.json"}
    await reply(client, tenant, cid, agent.id, {"type": "text", "text": "later"})

    async def first_attempt_failed() -> bool:
        rows = await deliveries_to(ctx, tw.id)
        # the first try and its immediate retry
        return bool(rows and rows[0].attempts >= 2 and rows[0].leased_until is None)

    try:
        await wait_for_async(first_attempt_failed)
        [row] = await deliveries_to(ctx, tw.id)
        assert row.status == "pending" and "500" in (row.last_error or "")
        assert row.next_attempt_at - engine.clock.now() > timedelta(minutes=1)
        fake_twilio.mode = "ok"
        engine.clock.advance(timedelta(minutes=2))
        engine.wake.set()
        await wait_for(lambda: len(fake_twilio.sent) == 1, what="retried SMS")
    finally:
        engine.clock.offset = timedelta(0)
    assert fake_twilio.sent[0]["Body"] == "later"

    # A number Twilio refuses: failed after one attempt, listed with Twilio's status.
    fake_twilio.reject_to = {CUSTOMER}
    await reply(client, tenant, cid, agent.id, {"type": "text", "text": "nope"})

    async def failed() -> bool:
        return any(d.status == "failed" for d in await deliveries_to(ctx, tw.id))

    await wait_for_async(failed)
    listed = (await client.get("/api/v1/deliveries/failed", headers=tenant.engine)).json()
    [item] = [i for i in listed["results"] if i["integrationId"] == tw.id]
    assert item["attempts"] == 1 and item["lastStatusCode"] == 400
    assert item["conversationId"] == cid
    assert len(fake_twilio.sent) == 1


async def test_twilio_retry_of_a_message_is_accepted_once(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    receiver: Receiver,
    fake_twilio: FakeTwilio,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    tw = await twilio_integration(client, tenant, hub, fake_twilio)
    await direct_agent(ctx, tenant, hub, receiver)
    for sid, text in (("SM7", "first"), ("SM7", "first"), ("SM8", "second")):
        r = await send_sms(client, tw, {"From": CUSTOMER, "Body": text, "MessageSid": sid})
        assert r.status_code == 200 and "<Response/>" in r.text  # Twilio stops retrying
    await wait_for(lambda: len(receiver.at("agent")) == 2, what="two messages")
    cid = receiver.at("agent")[0].body["conversationId"]
    r = await client.get(
        f"/api/v1/interactions/activities/{cid}", params={"type": "agent"}, headers=tenant.engine
    )
    assert [a["message"]["text"] for a in r.json()] == ["first", "second"]
    assert [a["externalId"] for a in r.json()] == ["SM7", "SM8"]
