"""Integrations verified with a provider (Twilio, Messenger, Slack) against local fakes."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from tests.api.helpers import new_hub
from tests.api.test_integrations import create
from tests.conftest import TenantCreds, codes
from tests.fakes.graph import FakeGraph
from tests.fakes.slack import FakeSlack, FakeWorkspace, channel
from tests.fakes.twilio import FakeTwilio
from unihub.channels.slack.models import SlackNonce
from unihub.core.context import AppContext
from unihub.core.timestamps import utcnow

_READ_RAW = (
    "import os, sys\n"
    "for p in sys.argv[1:]:\n"
    "    if os.path.exists(p):\n"
    "        sys.stdout.buffer.write(open(p, 'rb').read())\n"
)


def sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@pytest.fixture
async def hub(client: httpx.AsyncClient, tenant: TenantCreds) -> str:
    return await new_hub(client, tenant)


@pytest.fixture
def twilio_account(fake_twilio: FakeTwilio) -> dict[str, str]:
    account, token, number = sid("AC"), "twilio-auth-token-" + uuid.uuid4().hex, sid("PN")
    fake_twilio.add_account(account, token)
    fake_twilio.add_number(account, number, "+16476960489", voice=False)
    return {"accountSid": account, "authToken": token, "numberSid": number}


@pytest.fixture
def page_token(fake_graph: FakeGraph) -> str:
    token = "EAAF" + uuid.uuid4().hex
    fake_graph.add_page(token, "1013889883" + uuid.uuid4().hex[:6], "Biz", "35360465938")
    return token


def workspace(team_id: str | None = None) -> FakeWorkspace:
    return FakeWorkspace(
        team_id=team_id or "T" + uuid.uuid4().hex[:8].upper(),
        team_name="Acme",
        bot_token="xoxb-" + uuid.uuid4().hex,
        bot_user_id="U0BOT",
        bot_name="unihub-bot",
        app_id="A0APP",
        channels=[channel("C1", "random"), channel("C2", "general", is_general=True)],
        user_token="xoxp-" + uuid.uuid4().hex,
    )


async def slack_nonce(client: httpx.AsyncClient, t: TenantCreds, hub_id: str) -> str:
    r = await client.get(f"/api/v1/integrations/slack/authorize?hubId={hub_id}", headers=t.portal)
    assert r.status_code == 200, r.text
    nonce: str = r.json()["nonce"]
    return nonce


async def stored(client: httpx.AsyncClient, t: TenantCreds, hub_id: str, channel: str) -> list[Any]:
    r = await client.get(f"/api/v1/integrations/hubs/{hub_id}/{channel}", headers=t.portal)
    assert r.status_code == 200
    items: list[Any] = r.json()
    return items


def description(r: httpx.Response) -> str:
    text_: str = r.json()["errors"][0]["description"]
    return text_


# --- Twilio ----------------------------------------------------------------------------------


async def test_twilio_happy_path(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    hub: str,
    fake_twilio: FakeTwilio,
    twilio_account: dict[str, str],
) -> None:
    r = await create(client, tenant, hub, "twiliosms", twilio_account, statusId=3002)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["channelId"] == "TwilioSMS" and got["integrationTypeId"] == "Customer"
    assert got["statusId"] == 3002
    assert got["inboundId"] == twilio_account["accountSid"]
    token = twilio_account["authToken"]
    assert got["configuration"] == {
        "accountSid": twilio_account["accountSid"],
        "numberSid": twilio_account["numberSid"],
        "phoneNumber": "+16476960489",
        "capabilities": {"mms": True, "sms": True, "voice": False},
        "authToken": token[:4] + "...",
    }
    [call] = fake_twilio.requests
    assert call.basic_auth == (twilio_account["accountSid"], token)
    assert call.path.endswith(f"/IncomingPhoneNumbers/{twilio_account['numberSid']}.json")
    got2 = (
        await client.get(f"/api/v1/integrations/{got['integrationId']}", headers=tenant.portal)
    ).json()
    assert got2 == got

    # Configuration changes are ignored (no new provider call); name and status apply.
    r = await client.put(
        f"/api/v1/integrations/{got['integrationId']}",
        json={"name": "SMS", "statusId": 3000, "configuration": {"authToken": "x"}},
        headers=tenant.portal,
    )
    assert r.status_code == 200
    assert r.json()["name"] == "SMS" and r.json()["statusId"] == 3000
    assert r.json()["configuration"] == got["configuration"]
    assert len(fake_twilio.requests) == 1


async def test_provider_calls_reuse_one_connection(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    hub: str,
    fake_twilio: FakeTwilio,
    twilio_account: dict[str, str],
) -> None:
    second = {**twilio_account, "numberSid": sid("PN")}
    fake_twilio.add_number(second["accountSid"], second["numberSid"], "+16476960490")
    for configuration in (twilio_account, second):
        r = await create(client, tenant, hub, "TwilioSMS", configuration)
        assert r.status_code == 200, r.text
    first_call, second_call = fake_twilio.requests
    assert first_call.client_port is not None
    assert first_call.client_port == second_call.client_port  # keep-alive, no new handshake


async def test_twilio_rejections_store_nothing(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    hub: str,
    twilio_account: dict[str, str],
) -> None:
    r = await create(
        client, tenant, hub, "TwilioSMS", {**twilio_account, "authToken": "wrong-token"}
    )
    assert r.status_code == 400 and codes(r) == [702]
    assert description(r).startswith("Twilio rejected the credentials: Authenticate (20003).")
    r = await create(client, tenant, hub, "TwilioSMS", {**twilio_account, "numberSid": sid("PN")})
    assert r.status_code == 400 and codes(r) == [702]
    assert "Twilio" in description(r) and "20404" in description(r)
    r = await create(client, tenant, hub, "TwilioSMS", {"accountSid": "AC1", "numberSid": "PN1"})
    assert r.status_code == 400 and codes(r) == [301]
    assert await stored(client, tenant, hub, "TwilioSMS") == []


@pytest.mark.parametrize("mode", ["slow", "error500", "garbage", "refused"])
async def test_twilio_unavailable_is_503(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    hub: str,
    ctx: AppContext,
    fake_twilio: FakeTwilio,
    twilio_account: dict[str, str],
    closed_port_url: str,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    if mode == "refused":
        monkeypatch.setattr(ctx.settings, "twilio_api_url", closed_port_url)
    else:
        fake_twilio.mode = mode  # type: ignore[assignment]
    r = await create(client, tenant, hub, "TwilioSMS", twilio_account)
    assert r.status_code == 503 and codes(r) == [703]
    assert description(r).startswith("Twilio is unavailable")
    assert await stored(client, tenant, hub, "TwilioSMS") == []


async def test_twilio_number_attached_once_anywhere(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    other_tenant: TenantCreds,
    hub: str,
    twilio_account: dict[str, str],
) -> None:
    assert (await create(client, tenant, hub, "TwilioSMS", twilio_account)).status_code == 200
    other_hub = await new_hub(client, other_tenant)
    r = await create(client, other_tenant, other_hub, "TwilioSMS", twilio_account)
    assert r.status_code == 400 and codes(r) == [701]
    assert twilio_account["numberSid"] in description(r)


async def test_concurrent_creates_of_one_number(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    other_tenant: TenantCreds,
    twilio_account: dict[str, str],
) -> None:
    hubs = [
        (tenant, await new_hub(client, tenant)),
        (other_tenant, await new_hub(client, other_tenant)),
    ]
    hubs += [
        (tenant, await new_hub(client, tenant)),
        (other_tenant, await new_hub(client, other_tenant)),
    ]
    results = await asyncio.gather(
        *(create(client, t, h, "TwilioSMS", twilio_account) for t, h in hubs)
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 400, 400, 400]
    assert all(codes(r) == [701] for r in results if r.status_code == 400)


# --- Messenger -------------------------------------------------------------------------------


async def test_messenger_happy_path_and_duplicate(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    other_tenant: TenantCreds,
    hub: str,
    fake_graph: FakeGraph,
    page_token: str,
) -> None:
    r = await create(client, tenant, hub, 101, {"PageAccessToken": page_token})
    assert r.status_code == 200, r.text
    got = r.json()
    page = fake_graph.pages[page_token]
    assert got["channelId"] == "Messenger" and got["integrationTypeId"] == "Customer"
    assert got["inboundId"] == page.page_id
    assert got["configuration"] == {
        "appId": "35360465938",
        "pageId": page.page_id,
        "pageAccessToken": page_token[:4] + "...",
    }
    other_hub = await new_hub(client, other_tenant)
    r = await create(client, other_tenant, other_hub, "Messenger", {"pageAccessToken": page_token})
    assert r.status_code == 400 and codes(r) == [701]


async def test_messenger_failures(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str, fake_graph: FakeGraph, page_token: str
) -> None:
    r = await create(client, tenant, hub, "Messenger", {"pageAccessToken": "EAAFnot-a-token"})
    assert r.status_code == 400 and codes(r) == [702]
    assert description(r).startswith("Facebook Messenger rejected the page access token")
    assert "EAAFnot-a-token" not in r.text
    fake_graph.mode = "error500"
    r = await create(client, tenant, hub, "Messenger", {"pageAccessToken": page_token})
    assert r.status_code == 503 and codes(r) == [703]
    assert page_token not in r.text
    assert await stored(client, tenant, hub, "Messenger") == []


# --- Slack -----------------------------------------------------------------------------------


async def test_slack_install(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str, fake_slack: FakeSlack
) -> None:
    r = await client.get(f"/api/v1/integrations/slack/authorize?hubId={hub}", headers=tenant.portal)
    assert r.status_code == 200
    body = r.json()
    url = httpx.URL(body["url"])
    assert url.params["state"] == body["nonce"]
    assert url.params["client_id"] == fake_slack.client_id
    ws = workspace()
    fake_slack.add_install("code-1", ws)
    r = await create(client, tenant, hub, "Slack", {"code": "code-1", "nonce": body["nonce"]})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["channelId"] == "Slack" and got["integrationTypeId"] == "Agent"
    assert got["inboundId"] == ws.team_id
    cfg = got["configuration"]
    assert cfg["teamId"] == ws.team_id and cfg["botName"] == "unihub-bot"
    assert cfg["defaultPublicChannel"] == "general"
    assert cfg["botAccessToken"] == "xoxb..." and cfg["appAccessToken"] == "xoxp..."
    [exchange] = fake_slack.requests_to("/oauth.v2.access")
    assert exchange.form["code"] == "code-1"
    assert exchange.form["client_secret"] == fake_slack.client_secret

    # The nonce is single use.
    fake_slack.add_install("code-2", workspace())
    r = await create(client, tenant, hub, "Slack", {"code": "code-2", "nonce": body["nonce"]})
    assert r.status_code == 400 and codes(r) == [704]

    # The same team cannot be attached twice.
    fake_slack.add_install("code-3", workspace(ws.team_id))
    nonce = await slack_nonce(client, tenant, hub)
    r = await create(client, tenant, hub, "Slack", {"code": "code-3", "nonce": nonce})
    assert r.status_code == 400 and codes(r) == [701]


async def test_slack_nonce_must_be_this_tenants_hubs_and_fresh(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    other_tenant: TenantCreds,
    hub: str,
    ctx: AppContext,
    fake_slack: FakeSlack,
) -> None:
    fake_slack.add_install("code-x", workspace())
    foreign = await slack_nonce(client, other_tenant, await new_hub(client, other_tenant))
    other_hub = await slack_nonce(client, tenant, await new_hub(client, tenant))
    expired = await slack_nonce(client, tenant, hub)
    async with ctx.db.write() as s:
        await s.execute(
            update(SlackNonce)
            .where(SlackNonce.tenant_id == uuid.UUID(tenant.tenant_id))
            .values(expires=utcnow())
        )
    for nonce in (foreign, other_hub, expired, "made-up"):
        r = await create(client, tenant, hub, "Slack", {"code": "code-x", "nonce": nonce})
        assert r.status_code == 400 and codes(r) == [704], nonce
    assert fake_slack.requests == []
    r = await create(client, tenant, hub, "Slack", {"code": "code-x"})
    assert r.status_code == 400 and codes(r) == [301]


async def test_slack_failures(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str, fake_slack: FakeSlack
) -> None:
    r = await create(
        client,
        tenant,
        hub,
        "Slack",
        {"code": "unknown", "nonce": await slack_nonce(client, tenant, hub)},
    )
    assert r.status_code == 400 and codes(r) == [702]
    assert (
        description(r) == "Slack rejected the authorization code: invalid_code. (code: PRT000702)"
    )
    fake_slack.add_install("code-y", workspace())
    fake_slack.mode = "slow"
    r = await create(
        client,
        tenant,
        hub,
        "Slack",
        {"code": "code-y", "nonce": await slack_nonce(client, tenant, hub)},
    )
    assert r.status_code == 503 and codes(r) == [703]
    fake_slack.mode = "ok"
    fake_slack.forced_errors["/oauth.v2.access"] = "ratelimited"
    r = await create(
        client,
        tenant,
        hub,
        "Slack",
        {"code": "code-y", "nonce": await slack_nonce(client, tenant, hub)},
    )
    assert r.status_code == 503 and codes(r) == [703]
    assert await stored(client, tenant, hub, "Slack") == []


async def test_concurrent_use_of_one_nonce(
    client: httpx.AsyncClient, tenant: TenantCreds, hub: str, fake_slack: FakeSlack
) -> None:
    nonce = await slack_nonce(client, tenant, hub)
    for i in range(4):
        fake_slack.add_install(f"race-{i}", workspace())
    results = await asyncio.gather(
        *(
            create(client, tenant, hub, "Slack", {"code": f"race-{i}", "nonce": nonce})
            for i in range(4)
        )
    )
    assert sorted(r.status_code for r in results) == [200, 400, 400, 400]
    assert len(fake_slack.requests_to("/oauth.v2.access")) == 1


# --- secrets at rest and in logs -------------------------------------------------------------


async def test_secrets_never_stored_or_logged_in_clear(
    client: httpx.AsyncClient,
    tenant: TenantCreds,
    hub: str,
    ctx: AppContext,
    fake_slack: FakeSlack,
    twilio_account: dict[str, str],
    page_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ws = workspace()
    fake_slack.add_install("code-s", ws)
    # A failure first: the rejected token must not reach the logs either.
    r = await create(
        client,
        tenant,
        hub,
        "TwilioSMS",
        {**twilio_account, "authToken": "bad-" + twilio_account["authToken"]},
    )
    assert r.status_code == 400
    created = [
        await create(client, tenant, hub, "TwilioSMS", twilio_account),
        await create(client, tenant, hub, "Messenger", {"pageAccessToken": page_token}),
        await create(
            client,
            tenant,
            hub,
            "Slack",
            {"code": "code-s", "nonce": await slack_nonce(client, tenant, hub)},
        ),
        await create(client, tenant, hub, "Direct", {"integrationType": "Bot"}),
        await create(
            client,
            tenant,
            hub,
            "System",
            {"webhookUrl": "http://127.0.0.1:9/e", "events": ["message"]},
        ),
    ]
    assert [r.status_code for r in created] == [200] * 5
    private_keys = [r.json()["configuration"]["privateSigningKey"] for r in created[3:]]
    secrets = [
        twilio_account["authToken"],
        page_token,
        ws.bot_token,
        str(ws.user_token),
        *private_keys,
    ]

    async with ctx.db.read() as s:
        rows = (await s.execute(text("SELECT * FROM integrations"))).all()
    dump = repr(rows)
    assert twilio_account["accountSid"] in dump  # the dump is real
    for secret in secrets:
        assert secret not in dump
    if ctx.db.is_sqlite:
        db_file = Path(ctx.settings.data_dir) / "unihub.db"
        # Read the files from another process: closing a descriptor of the live database in
        # this process would drop SQLite's POSIX locks here (and let others reset the WAL index).
        raw = subprocess.run(
            [sys.executable, "-c", _READ_RAW, str(db_file), str(db_file) + "-wal"],
            capture_output=True,
            check=True,
        ).stdout
        with sqlite3.connect(db_file) as conn:
            raw += repr(conn.execute("SELECT * FROM integrations").fetchall()).encode()
        assert twilio_account["numberSid"].encode() in raw
        for secret in secrets:
            assert secret.encode() not in raw
    for secret in [*secrets, "bad-" + twilio_account["authToken"]]:
        assert secret not in caplog.text
