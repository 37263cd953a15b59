"""Transfer commands: CRUD per hub, validation, uniqueness, isolation and hub cascade."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.helpers import new_hub
from tests.conftest import TenantCreds, codes

BASE = "/api/v1/commands/transfers"
DOC_EXAMPLE = {
    "name": "new cool command",
    "description": "Description for command",
    "url": "https://mysite.io",
    "linkDescription": "Click here to be transferred",
    "mountDelay": 1000,
}


async def create(
    client: httpx.AsyncClient, t: TenantCreds, hub_id: str, **body: Any
) -> httpx.Response:
    return await client.post(f"{BASE}/{hub_id}", json={**DOC_EXAMPLE, **body}, headers=t.portal)


async def test_crud_round_trip(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    hub_id = await new_hub(client, tenant)
    r = await create(client, tenant, hub_id)
    assert r.status_code == 200, r.text
    cmd = r.json()
    uuid.UUID(cmd["commandId"])
    assert cmd == {"commandId": cmd["commandId"], "hubId": hub_id, **DOC_EXAMPLE}

    url = f"{BASE}/{cmd['commandId']}"
    assert (await client.get(url, headers=tenant.portal)).json() == cmd

    r = await client.put(
        url, json={"mountDelay": -1, "url": "http://x.example/a?b=1"}, headers=tenant.portal
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["mountDelay"] == -1 and updated["url"] == "http://x.example/a?b=1"
    assert updated["name"] == cmd["name"] and updated["linkDescription"] == cmd["linkDescription"]

    # null clears the description (then omitted) and resets mountDelay to its default.
    r = await client.put(url, json={"description": None, "mountDelay": None}, headers=tenant.portal)
    assert r.status_code == 200
    assert "description" not in r.json() and r.json()["mountDelay"] == 0

    listed = await client.get(f"{BASE}/hub/{hub_id}", headers=tenant.portal)
    assert listed.status_code == 200 and listed.json() == [r.json()]


async def test_defaults_and_case_insensitive_properties(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await client.post(
        f"{BASE}/{hub_id}",
        json={"NAME": " t ", "Url": "https://a.example", "linkdescription": "go", "extra": 1},
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "t" and body["mountDelay"] == 0
    assert "description" not in body and "extra" not in body


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", [300]),
        (b"[]", [300]),
        (b"{}", [301, 301, 301]),
        (b'{"url": "https://a.io", "linkDescription": "l"}', [301]),
        (b'{"name": "n", "linkDescription": "l"}', [301]),
        (b'{"name": "n", "url": "https://a.io"}', [301]),
        (b'{"name": "n", "url": "https://a.io", "linkDescription": "  "}', [301]),
        (b'{"name": "n", "url": "mysite.io", "linkDescription": "l"}', [202]),
        (b'{"name": "n", "url": "/relative", "linkDescription": "l"}', [202]),
        (b'{"name": "n", "url": "ftp://a.io/x", "linkDescription": "l"}', [202]),
        (b'{"name": "n", "url": "https://", "linkDescription": "l"}', [202]),
        (b'{"name": "n", "url": "https://a b.io", "linkDescription": "l"}', [202]),
        (b'{"name": "n", "url": 5, "linkDescription": "l"}', [302]),
        (b'{"name": "n", "url": "https://a.io", "linkDescription": "l", "mountDelay": "5"}', [302]),
        (b'{"name": "n", "url": "https://a.io", "linkDescription": "l", "mountDelay": 1.5}', [302]),
        (
            b'{"name": "n", "url": "https://a.io", "linkDescription": "l", "mountDelay": true}',
            [302],
        ),
        (
            b'{"name": "n", "url": "https://a.io", "linkDescription": "l", '
            b'"mountDelay": 99999999999}',
            [207],
        ),
        (b'{"name": "' + b"x" * 129 + b'", "url": "https://a.io", "linkDescription": "l"}', [207]),
        (
            b'{"name": "n", "url": "https://a.io", "linkDescription": "l", "description": "'
            + b"x" * 1025
            + b'"}',
            [207],
        ),
        (
            b'{"name": "n", "url": "https://a.io/' + b"x" * 2048 + b'", "linkDescription": "l"}',
            [207],
        ),
        (b'{"name": null, "url": null, "linkDescription": null}', [302, 302, 302]),
    ],
)
async def test_create_bad_input(
    client: httpx.AsyncClient, tenant: TenantCreds, content: bytes, expected: list[int]
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await client.post(
        f"{BASE}/{hub_id}",
        content=content,
        headers={**tenant.portal, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert sorted(codes(r)) == sorted(expected)
    assert (await client.get(f"{BASE}/hub/{hub_id}", headers=tenant.portal)).json() == []


async def test_descriptions_name_the_property(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub_id = await new_hub(client, tenant)
    r = await create(client, tenant, hub_id, url="www.example.com")
    assert r.json()["errors"][0]["description"] == (
        "Property 'url' must be an absolute http or https URL. (code: PRT000202)"
    )


async def test_update_bad_input_and_order_of_checks(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub_id = await new_hub(client, tenant)
    cmd = (await create(client, tenant, hub_id)).json()
    url = f"{BASE}/{cmd['commandId']}"
    for body, expected in (
        ({"name": None}, [302]),
        ({"url": None}, [302]),
        ({"linkDescription": None}, [302]),
        ({"url": "nope"}, [202]),
        ({"mountDelay": "1"}, [302]),
        ({"name": ""}, [301]),
    ):
        r = await client.put(url, json=body, headers=tenant.portal)
        assert r.status_code == 400, (body, r.text)
        assert codes(r) == expected, body
    r = await client.put(url, content=b"nope", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [300]
    r = await client.put(f"{BASE}/{uuid.uuid4()}", content=b"nope", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [105]
    r = await client.put(f"{BASE}/xyz", content=b"nope", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [203]
    r = await client.put(url, content=b"nope", headers=tenant.engine)
    assert r.status_code == 403 and codes(r) == [101]
    assert (await client.get(url, headers=tenant.portal)).json() == cmd
