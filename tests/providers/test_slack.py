"""Slack as an agent channel: a thread per conversation out, thread replies back in."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import orjson

from tests.conftest import TenantCreds, codes
from tests.engine.factories import make_hub
from tests.engine.receiver import wait_for
from tests.engine.test_delivery import wait_for_async
from tests.fakes.slack import FakeSlack
from tests.fakes.twilio import FakeTwilio
from tests.providers.helpers import (
    deliveries_to,
    send_sms,
    slack_headers,
    slack_integration,
    twilio_integration,
)
from unihub.core.context import AppContext

CUSTOMER = "+15551230002"


async def slack_event(
    client: httpx.AsyncClient, body: dict[str, Any], ts: int | None = None
) -> httpx.Response:
    raw = orjson.dumps(body)
    return await client.post(
        "/inbound/slack/v1/events", content=raw, headers=slack_headers(raw, ts=ts)
    )


async def test_customer_sms_threads_in_slack_and_thread_reply_goes_back(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    fake_twilio: FakeTwilio,
    fake_slack: FakeSlack,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    tw = await twilio_integration(client, tenant, hub, fake_twilio)
    _, ws = await slack_integration(client, tenant, hub, fake_slack)

    await send_sms(client, tw, {"From": CUSTOMER, "Body": "my order <42> & more"})
    await wait_for(lambda: len(fake_slack.posts) == 1, what="thread start")
    first = fake_slack.posts[0]
    assert first["channel"] == "C2" and "thread_ts" not in first  # #general, a new thread
    assert "via TwilioSMS" in first["text"] and "my order &lt;42&gt; &amp; more" in first["text"]
    [call] = fake_slack.requests_to("/chat.postMessage")
    assert call.bearer == ws.bot_token

    await send_sms(client, tw, {"From": CUSTOMER, "Body": "still there?"})
    await wait_for(lambda: len(fake_slack.posts) == 2, what="threaded post")
    assert fake_slack.posts[1]["thread_ts"] == first["ts"]
    assert fake_slack.posts[1]["text"] == "still there?"

    # Slack's handshake, then an agent's reply typed in the thread.
    challenge = await slack_event(client, {"type": "url_verification", "challenge": "c-123"})
    assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-123"}
    message: dict[str, Any] = {
        "type": "message",
        "channel": "C2",
        "user": "U0AGENT",
        "text": "Shipped today &amp; tracked",
        "ts": "1700000100.000001",
        "thread_ts": first["ts"],
        "client_msg_id": str(uuid.uuid4()),
    }
    event: dict[str, Any] = {
        "type": "event_callback",
        "team_id": ws.team_id,
        "event": message,
    }
    r = await slack_event(client, event)
    assert r.status_code == 200, r.text
    await wait_for(lambda: len(fake_twilio.sent) == 1, what="SMS from the Slack reply")
    assert fake_twilio.sent[0]["Body"] == "Shipped today & tracked"
    assert fake_twilio.sent[0]["To"] == CUSTOMER

    # Ignored: the bot's own posts, top-level messages, threads the engine did not start.
    ignored = [
        {**message, "bot_id": "B0BOT", "ts": "1700000101.000001"},
        {**message, "user": ws.bot_user_id, "ts": "1700000102.000001"},
        {**message, "thread_ts": None, "ts": "1700000103.000001"},
        {**message, "thread_ts": "1600000000.000001"},
    ]
    for e in ignored:
        assert (await slack_event(client, {**event, "event": e})).status_code == 200
    # Bad or stale signatures are refused.
    raw = orjson.dumps(event)
    bad = await client.post(
        "/inbound/slack/v1/events", content=raw, headers=slack_headers(raw, secret="wrong")
    )
    assert bad.status_code == 403 and codes(bad) == [120]
    stale = await slack_event(client, event, ts=int(time.time()) - 3600)
    assert stale.status_code == 403
    # Only the one reply reached the customer (deliveries are written in the accept
    # transaction, so none pending means none was accepted).
    rows = await deliveries_to(ctx, tw.id)
    assert len(rows) == 1 and len(fake_twilio.sent) == 1


async def test_slack_refusal_fails_the_delivery(
    client: httpx.AsyncClient,
    ctx: AppContext,
    tenant: TenantCreds,
    fake_twilio: FakeTwilio,
    fake_slack: FakeSlack,
) -> None:
    hub = (await make_hub(client, tenant))["hubId"]
    tw = await twilio_integration(client, tenant, hub, fake_twilio)
    slack_id, _ = await slack_integration(client, tenant, hub, fake_slack)
    fake_slack.forced_errors["/chat.postMessage"] = "not_in_channel"
    await send_sms(client, tw, {"From": CUSTOMER, "Body": "anyone?"})

    async def failed() -> bool:
        rows = await deliveries_to(ctx, slack_id)
        return bool(rows) and rows[0].status == "failed"

    await wait_for_async(failed)
    [row] = await deliveries_to(ctx, slack_id)
    assert row.attempts == 1 and "not_in_channel" in (row.last_error or "")
