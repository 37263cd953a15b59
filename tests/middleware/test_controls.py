"""Control characters outside JSON bodies: refused with a clear 400 before the database.

PostgreSQL cannot store NUL; these requests used to answer 500 there.
"""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import TenantCreds, codes

CLIENTS = "/api/v1/tenants/clients"


@pytest.mark.parametrize(
    "path",
    [
        f"{CLIENTS}/%00",
        f"{CLIENTS}/%00/tokens",
        f"{CLIENTS}/abc%01def",
        "/api/v1/hubs/%7f",
        "/api/v1/hubs?pageNumber=%00",
        "/api/v1/integrations?hubId=1%0a2",
    ],
)
async def test_control_characters_in_path_or_query_are_400(
    client: httpx.AsyncClient, tenant: TenantCreds, path: str
) -> None:
    r = await client.get(path, headers=tenant.portal)
    assert r.status_code == 400, r.text
    assert codes(r) == [117]
    assert "control character" in r.json()["errors"][0]["description"]


async def test_control_character_in_a_post_path_writes_nothing(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    r = await client.post(f"{CLIENTS}/%00/tokens", headers=tenant.portal, json={"name": "x"})
    assert r.status_code == 400 and codes(r) == [117]
    listed = await client.get(f"{CLIENTS}/{tenant.portal_client_id}", headers=tenant.portal)
    assert len(listed.json()["secrets"]) == 1


async def test_control_character_in_a_header_is_400(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    r = await client.get("/api/v1/hubs", headers={**tenant.portal, "X-Request-Id": "a\x00b"})
    assert r.status_code == 400 and codes(r) == [117]
    # a tab is legitimate whitespace in a header value
    r = await client.get("/api/v1/hubs", headers={**tenant.portal, "X-Note": "a\tb"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "client_credentials", "client_id": "\x00", "client_secret": "x"},
        {
            "grant_type": "client_credentials",
            "client_id": "unihub.portal.api.\x00",
            "client_secret": "x",
        },
        {"grant_type": "client_credentials", "client_id": "a", "client_secret": "s\x00"},
        {"grant_type": "client_\x00credentials", "client_id": "a", "client_secret": "s"},
    ],
)
async def test_control_characters_in_the_token_form_are_invalid_request(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    r = await client.post("/connect/token", data=form)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"
    assert "control character" in r.json()["error_description"]


async def test_control_characters_in_http_basic_are_invalid_request(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    for user, password in ((f"{tenant.portal_client_id}\x00", "x"), ("\x00", tenant.portal_secret)):
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        r = await client.post(
            "/connect/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_request"
    # %00 escaped inside Basic credentials decodes to NUL too
    basic = base64.b64encode(f"{tenant.portal_client_id}%00:x".encode()).decode()
    r = await client.post(
        "/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_control_character_in_the_token_query_is_oauth_format(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/connect/token?x=%00", data={"grant_type": "client_credentials"})
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"
