"""Webhook URL guard: loopback, link-local, private ranges and names resolving to them."""

from __future__ import annotations

import socket

import pytest

from tests.conftest import TenantCreds, codes
from tests.middleware.conftest import ClientFactory
from unihub.core.urlguard import check_webhook_url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata, link-local
        "http://[fe80::1]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_targets_are_refused(url: str):
    reason = await check_webhook_url(url, allow_private=False)
    assert reason is not None and "public" in reason


async def test_name_resolving_to_a_private_address_is_refused():
    host = socket.gethostname()  # /etc/hosts maps it to a loopback or private address
    assert await check_webhook_url(f"http://{host}/hook", allow_private=False) is not None


async def test_public_literal_is_accepted_and_flag_allows_private():
    assert await check_webhook_url("https://8.8.8.8/hook", allow_private=False) is None
    assert await check_webhook_url("http://127.0.0.1:9/hook", allow_private=True) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9\\@93.184.216.34/",  # httpx: 93.184.216.34; browsers: 127.0.0.1
        "http://93.184.216.34:9\\@127.0.0.1/",
        "http://user:pw@93.184.216.34/hook",
    ],
)
async def test_api_refuses_urls_parsers_read_differently(
    make_client: ClientFactory, tenant: TenantCreds, url: str
) -> None:
    client = await make_client(allow_private_webhooks=False)
    hub = await client.post(
        "/api/v1/hubs", headers=tenant.portal, json={"name": "guard", "description": "d"}
    )
    hub_id = hub.json()["hubId"]
    r = await client.post(
        f"/api/v1/integrations/hubs/{hub_id}",
        headers=tenant.portal,
        json={
            "channelId": "Direct",
            "name": "tricky",
            "configuration": {"integrationType": "Bot", "webhookUrl": url},
        },
    )
    assert r.status_code == 400, r.text
    assert codes(r) == [202]
    listed = await client.get(f"/api/v1/integrations?hubId={hub_id}", headers=tenant.portal)
    assert listed.json()["total"] == 0
