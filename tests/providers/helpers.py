"""Provider channels set up through the Portal API against the fakes, and signed provider
webhook requests computed the way each provider computes them."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.api.test_integrations import create
from tests.api.test_integrations_providers import slack_nonce, workspace
from tests.conftest import TenantCreds
from tests.engine.factories import MadeIntegration, make_integration
from tests.engine.receiver import Receiver
from tests.fakes.graph import FakeGraph
from tests.fakes.slack import FakeSlack, FakeWorkspace
from tests.fakes.twilio import FakeTwilio
from unihub.channels.twilio.signature import compute_signature
from unihub.conversations.models import Conversation
from unihub.core.context import AppContext
from unihub.delivery.models import Delivery

BASE = "http://unihub.test"
SLACK_SECRET = "test-slack-signing-secret"


@dataclass
class Twilio:
    id: str
    account_sid: str
    auth_token: str
    phone: str


async def twilio_integration(
    client: httpx.AsyncClient, t: TenantCreds, hub_id: str, fake: FakeTwilio, *, mms: bool = True
) -> Twilio:
    account, token = "AC" + uuid.uuid4().hex, "tok-" + uuid.uuid4().hex
    number, phone = "PN" + uuid.uuid4().hex, "+1647" + str(uuid.uuid4().int)[:7]
    fake.add_account(account, token)
    fake.add_number(account, number, phone, mms=mms)
    r = await create(
        client,
        t,
        hub_id,
        "TwilioSMS",
        {"accountSid": account, "authToken": token, "numberSid": number},
    )
    assert r.status_code == 200, r.text
    return Twilio(r.json()["integrationId"], account, token, phone)


@dataclass
class Messenger:
    id: str
    page_id: str
    app_secret: str
    verify_token: str


async def messenger_integration(
    client: httpx.AsyncClient, t: TenantCreds, hub_id: str, fake: FakeGraph
) -> Messenger:
    token, page_id = "EAAF" + uuid.uuid4().hex, "10138" + str(uuid.uuid4().int)[:10]
    fake.add_page(token, page_id, "Biz", "35360465938")
    secret, verify = "app-secret-" + uuid.uuid4().hex, "verify-" + uuid.uuid4().hex
    config = {"pageAccessToken": token, "appSecret": secret, "verifyToken": verify}
    r = await create(client, t, hub_id, "Messenger", config)
    assert r.status_code == 200, r.text
    return Messenger(r.json()["integrationId"], page_id, secret, verify)


async def slack_integration(
    client: httpx.AsyncClient, t: TenantCreds, hub_id: str, fake: FakeSlack
) -> tuple[str, FakeWorkspace]:
    ws = workspace()
    code = "code-" + uuid.uuid4().hex
    fake.add_install(code, ws)
    nonce = await slack_nonce(client, t, hub_id)
    r = await create(client, t, hub_id, "Slack", {"code": code, "nonce": nonce})
    assert r.status_code == 200, r.text
    return r.json()["integrationId"], ws


async def direct_agent(
    ctx: AppContext, t: TenantCreds, hub_id: str, receiver: Receiver, name: str = "agent"
) -> MadeIntegration:
    agent = await make_integration(
        ctx.db,
        ctx.box,
        t.tenant_id,
        hub_id,
        integration_type="Agent",
        webhook_url=receiver.url(name),
    )
    receiver.trust(agent.public_key, agent.private_key)
    return agent


async def send_sms(
    client: httpx.AsyncClient, tw: Twilio, params: dict[str, str], signature: str | None = None
) -> httpx.Response:
    path = f"/inbound/twilio/v1/sms/{tw.id}"
    form = {"AccountSid": tw.account_sid, "To": tw.phone, "NumMedia": "0", **params}
    if signature is None:
        signature = compute_signature(tw.auth_token, BASE + path, form)
    return await client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def slack_headers(body: bytes, secret: str = SLACK_SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if ts is None else ts)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }


def facebook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def conversation_count(ctx: AppContext, integration_id: str) -> int:
    async with ctx.db.read() as s:
        stmt = select(func.count()).where(Conversation.integration_id == uuid.UUID(integration_id))
        return int((await s.execute(stmt)).scalar_one())


async def deliveries_to(ctx: AppContext, receiver_id: str) -> list[Delivery]:
    async with ctx.db.read() as s:
        stmt = (
            select(Delivery)
            .where(Delivery.receiver_id == uuid.UUID(receiver_id))
            .order_by(Delivery.created, Delivery.seq)
        )
        return list((await s.execute(stmt)).scalars())


async def reply(
    client: httpx.AsyncClient, t: TenantCreds, cid: str, agent_id: str, message: dict[str, Any]
) -> httpx.Response:
    r = await client.post(
        f"/inbound/business/v1/direct/activity/{cid}",
        json={"type": "message", "sender": {"integrationId": agent_id}, "message": message},
        headers=t.engine,
    )
    assert r.status_code == 200, r.text
    return r
