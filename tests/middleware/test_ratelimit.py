"""Per-client rate limiting: headers on every answer, 429 in the error model when spent."""

from __future__ import annotations

import httpx

from tests.conftest import TenantCreds, codes
from tests.middleware.conftest import ClientFactory


async def test_limit_per_client_with_headers(
    make_client: ClientFactory, tenant: TenantCreds, other_tenant: TenantCreds
):
    client = await make_client(rate_limit="3/minute")
    seen = []
    for _ in range(3):
        r = await client.get("/api/v1/hubs", headers=tenant.portal)
        assert r.status_code == 200
        assert r.headers["ratelimit-limit"] == "3"
        seen.append(int(r.headers["ratelimit-remaining"]))
    assert seen == [2, 1, 0]

    r = await client.get("/api/v1/hubs", headers=tenant.portal)
    assert r.status_code == 429
    assert codes(r) == [111]
    assert int(r.headers["retry-after"]) >= 1
    assert r.headers["ratelimit-remaining"] == "0"
    assert "x-request-id" in r.headers

    # Another API client has its own budget.
    r = await client.get("/api/v1/hubs", headers=other_tenant.portal)
    assert r.status_code == 200


async def test_probes_are_not_limited(make_client: ClientFactory):
    client = await make_client(rate_limit="1/minute")
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200


async def test_token_endpoint_keyed_by_posted_client(
    make_client: ClientFactory, tenant: TenantCreds, other_tenant: TenantCreds
):
    client = await make_client(rate_limit="2/minute")

    async def ask(creds_id: str, secret: str) -> httpx.Response:
        return await client.post(
            "/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds_id,
                "client_secret": secret,
            },
        )

    assert (await ask(tenant.portal_client_id, tenant.portal_secret)).status_code == 200
    assert (await ask(tenant.portal_client_id, "wrong")).status_code in (400, 401)
    r = await ask(tenant.portal_client_id, tenant.portal_secret)
    assert r.status_code == 429
    assert r.json()["errors"][0]["description"].endswith("(code: IDT000111)")
    # The form body was consumed for the key and still reaches the endpoint intact.
    assert (await ask(other_tenant.portal_client_id, other_tenant.portal_secret)).status_code == 200


async def test_off_adds_no_headers(make_client: ClientFactory, tenant: TenantCreds):
    client = await make_client(rate_limit="off")
    r = await client.get("/api/v1/hubs", headers=tenant.portal)
    assert r.status_code == 200
    assert "ratelimit-limit" not in r.headers


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        "/connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def test_failed_token_requests_are_limited_per_peer_whatever_client_they_name(
    make_client: ClientFactory, tenant: TenantCreds
):
    # The per-client limit is generous: only the per-peer failure budget can stop this.
    client = await make_client(rate_limit="1000/second", token_failure_limit="5/minute")
    for n in range(5):
        r = await _token(client, f"unihub.portal.api.invented{n}", "guess")
        assert r.status_code == 401, r.text
    r = await _token(client, "unihub.portal.api.invented-next", "guess")
    assert r.status_code == 429
    assert codes(r) == [118]
    assert r.json()["errors"][0]["description"].endswith("(code: IDT000118)")
    assert int(r.headers["retry-after"]) >= 1
    # Locked out: even right credentials from this address wait for the window.
    assert (await _token(client, tenant.portal_client_id, tenant.portal_secret)).status_code == 429

    # Another address has its own budget.
    app = client.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://unihub.test") as other:
        r = await _token(other, tenant.portal_client_id, tenant.portal_secret)
        assert r.status_code == 200, r.text


async def test_successful_token_requests_do_not_spend_the_failure_budget(
    make_client: ClientFactory, tenant: TenantCreds
):
    client = await make_client(rate_limit="1000/second", token_failure_limit="2/minute")
    for _ in range(6):
        r = await _token(client, tenant.portal_client_id, tenant.portal_secret)
        assert r.status_code == 200


async def test_token_endpoint_is_limited_per_peer_as_a_whole(
    make_client: ClientFactory, tenant: TenantCreds
):
    client = await make_client(
        rate_limit="1000/second", token_peer_limit="4/minute", token_failure_limit="100/minute"
    )
    statuses = [
        (await _token(client, f"unihub.engine.api.flood{n}", "x")).status_code for n in range(6)
    ]
    assert statuses == [401, 401, 401, 401, 429, 429]
    r = await _token(client, tenant.portal_client_id, tenant.portal_secret)
    assert r.status_code == 429 and codes(r) == [111]
