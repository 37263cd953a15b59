"""Tenant clients: reading a client, adding and deleting (revoking) its secrets."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TenantCreds, codes, get_token, make_settings
from unihub.app import create_app
from unihub.core.config import Settings

BASE = "/api/v1/tenants/clients"


async def add(
    client: httpx.AsyncClient, t: TenantCreds, body: Any, client_id: str | None = None
) -> httpx.Response:
    return await client.post(
        f"{BASE}/{client_id or t.portal_client_id}/tokens", json=body, headers=t.portal
    )


async def token_status(client: httpx.AsyncClient, client_id: str, secret: str) -> int:
    r = await client.post(
        "/connect/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    return r.status_code


async def test_get_client_shows_prefixes_only(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    r = await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tenantId"] == tenant.tenant_id
    assert body["clientId"] == tenant.portal_client_id
    assert body["enabled"] is True
    assert body["allowedScopes"] == ["hubster-portal-api"]
    assert {"type": "tenant", "value": tenant.tenant_id} in body["claims"]
    [secret] = body["secrets"]
    assert secret["name"] == "default"
    assert isinstance(secret["id"], int)
    assert "expiration" not in secret
    assert secret["token"].endswith("...")
    assert tenant.portal_secret.startswith(secret["token"][:-3])
    assert tenant.portal_secret not in r.text

    engine = await client.get(f"{BASE}/{tenant.engine_client_id}", headers=tenant.portal)
    assert engine.status_code == 200
    assert engine.json()["allowedScopes"] == ["hubster-engine-api"]


async def test_add_secret_shows_plaintext_once_and_it_works(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    r = await add(client, tenant, {"Name": " my secret 3 ", "expiration": "2030-01-31T00:00:00"})
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["name"] == "my secret 3"
    assert created["expiration"] == "2030-01-31T00:00:00.000000Z"
    secret = created["token"]
    assert len(secret) >= 43 and set(secret) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert await token_status(client, tenant.portal_client_id, secret) == 200

    listed = (await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)).json()
    assert secret not in json.dumps(listed)
    mine = next(x for x in listed["secrets"] if x["id"] == created["id"])
    assert mine["token"] == secret[:12] + "..."
    assert mine["expiration"] == created["expiration"]

    # Date-only and offset forms are accepted; the offset is converted to UTC.
    r = await add(client, tenant, {"name": "d", "expiration": "2031-05-01"})
    assert r.status_code == 200 and r.json()["expiration"] == "2031-05-01T00:00:00.000000Z"
    r = await add(client, tenant, {"name": "o", "expiration": "2031-05-01T02:00:00+02:00"})
    assert r.status_code == 200 and r.json()["expiration"] == "2031-05-01T00:00:00.000000Z"
    r = await add(client, tenant, {"name": "n", "expiration": None})
    assert r.status_code == 200 and "expiration" not in r.json()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", [300]),
        (b"[1]", [300]),
        (b"{}", [301]),
        (b'{"name": "  "}', [301]),
        (b'{"name": 5}', [302]),
        (b'{"name": "' + b"x" * 257 + b'"}', [207]),
        (b'{"name": "a", "expiration": "next week"}', [204]),
        (b'{"name": "a", "expiration": "2030-02-30T00:00:00"}', [204]),
        (b'{"name": "a", "expiration": 20300131}', [204]),
        (b'{"name": "a", "expiration": "2001-01-01T00:00:00"}', [207]),
        (b'{"expiration": "bad"}', [301, 204]),
    ],
)
async def test_add_secret_bad_input(
    client: httpx.AsyncClient, tenant: TenantCreds, content: bytes, expected: list[int]
) -> None:
    r = await client.post(
        f"{BASE}/{tenant.portal_client_id}/tokens",
        content=content,
        headers={**tenant.portal, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert sorted(codes(r)) == sorted(expected)
    listed = (await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)).json()
    assert len(listed["secrets"]) == 1  # nothing stored


async def test_expired_secret_cannot_obtain_tokens(
    client: httpx.AsyncClient, ctx: Any, tenant: TenantCreds
) -> None:
    from sqlalchemy import update

    from unihub.core.timestamps import utcnow
    from unihub.tenants.models import ClientSecret

    created = (await add(client, tenant, {"name": "soon", "expiration": "2099-01-01"})).json()
    assert await token_status(client, tenant.portal_client_id, created["token"]) == 200
    # Let it expire (the API refuses past dates, so move the clock of the row instead).
    async with ctx.db.write() as s:
        await s.execute(
            update(ClientSecret)
            .where(ClientSecret.id == created["id"])
            .values(expiration=utcnow().replace(year=2000))
        )
    assert await token_status(client, tenant.portal_client_id, created["token"]) == 401


async def test_delete_secret_revokes_it_and_its_tokens(
    client: httpx.AsyncClient, settings: Settings, tenant: TenantCreds
) -> None:
    extra = (await add(client, tenant, {"name": "extra"})).json()
    extra_token = await get_token(client, tenant.portal_client_id, extra["token"])
    bearer = {"Authorization": f"Bearer {extra_token}"}

    # A second process on the same database, whose revocation cache never lags.
    other_settings = make_settings(
        data_dir=settings.data_dir, database_url=settings.database_url, revocation_cache_s=0
    )
    other_app = create_app(other_settings)
    async with other_app.router.lifespan_context(other_app):
        transport = httpx.ASGITransport(app=other_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other.test") as other:
            assert (await other.get("/api/v1/hubs", headers=bearer)).status_code == 200
            assert (await client.get("/api/v1/hubs", headers=bearer)).status_code == 200

            r = await client.delete(
                f"{BASE}/{tenant.portal_client_id}/tokens/{extra['id']}", headers=tenant.portal
            )
            assert r.status_code == 200 and r.content == b""

            # This process refuses at once; the other one as soon as it re-reads the list.
            r = await client.get("/api/v1/hubs", headers=bearer)
            assert r.status_code == 401 and codes(r) == [102]
            r = await other.get("/api/v1/hubs", headers=bearer)
            assert r.status_code == 401 and codes(r) == [102]
        await other_app.state.ctx.db.dispose()

    assert await token_status(client, tenant.portal_client_id, extra["token"]) == 401
    # The remaining secret (and tokens minted with it) keep working.
    assert (await client.get("/api/v1/hubs", headers=tenant.portal)).status_code == 200
    listed = (await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)).json()
    assert [x["name"] for x in listed["secrets"]] == ["default"]
    r = await client.delete(
        f"{BASE}/{tenant.portal_client_id}/tokens/{extra['id']}", headers=tenant.portal
    )
    assert r.status_code == 404 and codes(r) == [105]


async def test_last_secret_cannot_be_deleted(
    client: httpx.AsyncClient, ctx: Any, tenant: TenantCreds
) -> None:
    listed = (await client.get(f"{BASE}/{tenant.engine_client_id}", headers=tenant.portal)).json()
    only = listed["secrets"][0]["id"]
    url = f"{BASE}/{tenant.engine_client_id}/tokens/{only}"
    r = await client.delete(url, headers=tenant.portal)
    assert r.status_code == 403 and codes(r) == [110]
    assert await token_status(client, tenant.engine_client_id, tenant.engine_secret) == 200

    # An expired secret does not count as a way back in.
    from sqlalchemy import update

    from unihub.core.timestamps import utcnow
    from unihub.tenants.models import ClientSecret

    stale = (await add(client, tenant, {"name": "stale"}, tenant.engine_client_id)).json()
    async with ctx.db.write() as s:
        await s.execute(
            update(ClientSecret)
            .where(ClientSecret.id == stale["id"])
            .values(expiration=utcnow().replace(year=2000))
        )
    r = await client.delete(url, headers=tenant.portal)
    assert r.status_code == 403 and codes(r) == [110]
    # The expired one itself may go.
    r = await client.delete(
        f"{BASE}/{tenant.engine_client_id}/tokens/{stale['id']}", headers=tenant.portal
    )
    assert r.status_code == 200


async def test_concurrent_deletes_of_the_last_two_secrets(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    second = (await add(client, tenant, {"name": "second"})).json()
    listed = (await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)).json()
    ids = [x["id"] for x in listed["secrets"]]
    assert second["id"] in ids and len(ids) == 2
    results = await asyncio.gather(
        *(
            client.delete(f"{BASE}/{tenant.portal_client_id}/tokens/{i}", headers=tenant.portal)
            for i in ids
        )
    )
    assert sorted(r.status_code for r in results) == [200, 403]
    listed = await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)
    if listed.status_code == 200:  # the surviving secret may have been the caller's
        assert len(listed.json()["secrets"]) == 1
    survivor = [r for r in results if r.status_code == 403]
    assert codes(survivor[0]) == [110]


async def test_other_tenants_client_is_not_found(
    client: httpx.AsyncClient, tenant: TenantCreds, other_tenant: TenantCreds
) -> None:
    mine = (await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)).json()
    secret_id = mine["secrets"][0]["id"]
    for method, path, body in (
        ("GET", f"{BASE}/{tenant.portal_client_id}", None),
        ("POST", f"{BASE}/{tenant.portal_client_id}/tokens", {"name": "x"}),
        ("POST", f"{BASE}/{tenant.portal_client_id}/tokens", b"not json"),
        ("DELETE", f"{BASE}/{tenant.portal_client_id}/tokens/{secret_id}", None),
        ("GET", f"{BASE}/no-such-client", None),
    ):
        kwargs: dict[str, Any] = {"headers": other_tenant.portal}
        if isinstance(body, bytes):
            kwargs["content"] = body
        elif body is not None:
            kwargs["json"] = body
        r = await client.request(method, path, **kwargs)
        assert r.status_code == 404, (method, path, r.text)
        assert codes(r) == [105]
    # My own client still has its one secret.
    again = (await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)).json()
    assert again["secrets"] == mine["secrets"]
    # A secret id of my tenant under another of my clients is not found either.
    r = await client.delete(
        f"{BASE}/{tenant.engine_client_id}/tokens/{secret_id}", headers=tenant.portal
    )
    assert r.status_code == 404 and codes(r) == [105]


@pytest.mark.parametrize("token_id", ["abc", "-1", "0", "1.5", "99999999999"])
async def test_malformed_token_id(
    client: httpx.AsyncClient, tenant: TenantCreds, token_id: str
) -> None:
    r = await client.delete(
        f"{BASE}/{tenant.portal_client_id}/tokens/{token_id}", headers=tenant.portal
    )
    assert r.status_code == 400 and codes(r) == [210]


async def test_engine_tokens_and_anonymous_calls_are_refused(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    url = f"{BASE}/{tenant.portal_client_id}"
    r = await client.get(url, headers=tenant.engine)
    assert r.status_code == 403 and codes(r) == [101]
    r = await client.post(f"{url}/tokens", json={"name": "x"})
    assert r.status_code == 401 and codes(r) == [102]
    r = await client.delete(f"{url}/tokens/1", headers=tenant.engine)
    assert r.status_code == 403 and codes(r) == [101]


def _cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIHUB_")} | {
        "UNIHUB_ENV_FILE": ""
    }
    env["UNIHUB_DATA_DIR"] = str(settings.data_dir)
    env["UNIHUB_SECRET_KEY"] = "test-secret-key"
    if settings.database_url:
        env["UNIHUB_DATABASE_URL"] = settings.database_url
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


async def test_cli_add_secret_recovers_access(
    client: httpx.AsyncClient, settings: Settings, tenant: TenantCreds
) -> None:
    """The way back in for a tenant that lost every secret: run on the server's database."""
    proc = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "unihub.cli",
            "tenants",
            "add-secret",
            "--client-id",
            tenant.portal_client_id,
            "--name",
            "rescue",
        ],
        env=_cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert out["clientId"] == tenant.portal_client_id and out["name"] == "rescue"
    assert await token_status(client, tenant.portal_client_id, out["token"]) == 200
    listed = (await client.get(f"{BASE}/{tenant.portal_client_id}", headers=tenant.portal)).json()
    assert {"id": out["id"], "name": "rescue", "token": out["token"][:12] + "..."} in (
        listed["secrets"]
    )

    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "unihub.cli", "tenants", "add-secret", "--client-id", "nope"],
        env=_cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert "does not exist" in proc.stderr


async def test_secret_ids_are_never_reused(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    """Revocation is keyed by id: a new secret must not inherit a deleted secret's id."""
    newest = (await add(client, tenant, {"name": "newest"})).json()
    r = await client.delete(
        f"{BASE}/{tenant.portal_client_id}/tokens/{newest['id']}", headers=tenant.portal
    )
    assert r.status_code == 200
    again = (await add(client, tenant, {"name": "again"})).json()
    assert again["id"] > newest["id"]
    assert await token_status(client, tenant.portal_client_id, again["token"]) == 200
