"""The Hubs API of the seed document, with the error model of SPEC.md."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest

from tests.conftest import TenantCreds, codes
from unihub.core.context import AppContext

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def create(client: httpx.AsyncClient, t: TenantCreds, **body: object) -> httpx.Response:
    payload = {"name": f"hub-{uuid.uuid4().hex[:8]}", "description": "a hub", **body}
    return await client.post("/api/v1/hubs", json=payload, headers=t.portal)


async def test_create_get_update_delete(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    r = await client.post(
        "/api/v1/hubs",
        json={"name": "  Sales  ", "description": "Sales hub", "closeDormantConversation": 30},
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    hub = r.json()
    assert hub["name"] == "Sales"
    assert hub["tenantId"] == tenant.tenant_id
    assert hub["statusId"] == 2000
    assert hub["closeDormantConversation"] == 30
    assert TS.match(hub["created"]) and hub["created"] == hub["modified"]
    uuid.UUID(hub["hubId"])

    got = await client.get(f"/api/v1/hubs/{hub['hubId']}", headers=tenant.portal)
    assert got.status_code == 200
    assert got.json() == hub

    r = await client.put(
        f"/api/v1/hubs/{hub['hubId']}", json={"statusId": 2002}, headers=tenant.portal
    )
    assert r.status_code == 200
    updated = r.json()
    assert updated["statusId"] == 2002
    assert updated["name"] == "Sales" and updated["description"] == "Sales hub"
    assert updated["created"] == hub["created"]
    assert updated["modified"] > hub["modified"]

    # null clears the nullable property, which is then omitted from the answer.
    r = await client.put(
        f"/api/v1/hubs/{hub['hubId']}",
        json={"closeDormantConversation": None},
        headers=tenant.portal,
    )
    assert r.status_code == 200
    assert "closeDormantConversation" not in r.json()

    r = await client.delete(f"/api/v1/hubs/{hub['hubId']}", headers=tenant.portal)
    assert r.status_code == 200
    assert r.content == b""
    r = await client.get(f"/api/v1/hubs/{hub['hubId']}", headers=tenant.portal)
    assert r.status_code == 404
    assert codes(r) == [699]
    r = await client.delete(f"/api/v1/hubs/{hub['hubId']}", headers=tenant.portal)
    assert r.status_code == 404


async def test_property_names_are_case_insensitive(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    r = await client.post(
        "/api/v1/hubs",
        json={"Name": "Cased", "DESCRIPTION": "x", "StatusId": 2002, "unknownThing": 1},
        headers=tenant.portal,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Cased" and body["statusId"] == 2002
    assert "unknownThing" not in body


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", [300]),
        (b"not json", [300]),
        (b"[1, 2]", [300]),
        (b'"text"', [300]),
        (b"{}", [301, 301]),
        (b'{"name": "n"}', [301]),
        (b'{"name": 5, "description": "d"}', [302]),
        (b'{"name": "n", "description": "d", "statusId": "x"}', [302]),
        (b'{"name": "n", "description": "d", "statusId": 2001}', [206]),
        (b'{"name": "n", "description": "d", "statusId": true}', [302]),
        (b'{"name": "n", "description": "d", "closeDormantConversation": -1}', [209]),
        (b'{"name": "n", "description": "d", "closeDormantConversation": 100000}', [207]),
        (b'{"name": "n", "description": "d", "closeDormantConversation": 1.5}', [302]),
        (b'{"name": "   ", "description": "d"}', [301]),
        (b'{"name": "' + b"x" * 129 + b'", "description": "d"}', [207]),
        (b'{"name": "n", "description": "' + b"x" * 1025 + b'"}', [207]),
        (b'{"name": null, "description": null, "statusId": "x"}', [302, 302, 302]),
    ],
)
async def test_create_bad_input(
    client: httpx.AsyncClient, tenant: TenantCreds, content: bytes, expected: list[int]
) -> None:
    r = await client.post(
        "/api/v1/hubs",
        content=content,
        headers={**tenant.portal, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert sorted(codes(r)) == sorted(expected)
    total = (await client.get("/api/v1/hubs", headers=tenant.portal)).json()["total"]
    assert total == 0  # nothing half-written


async def test_error_descriptions_name_the_property(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    r = await client.post("/api/v1/hubs", json={"description": "d"}, headers=tenant.portal)
    assert r.json()["errors"][0]["description"] == (
        "Property 'name' is required. (code: PRT000301)"
    )


async def test_duplicate_name_ignoring_case(
    client: httpx.AsyncClient, tenant: TenantCreds, other_tenant: TenantCreds
) -> None:
    assert (await create(client, tenant, name="Support")).status_code == 200
    r = await create(client, tenant, name="SUPPORT")
    assert r.status_code == 400
    assert codes(r) == [600]
    # Another tenant may use the same name.
    assert (await create(client, other_tenant, name="support")).status_code == 200
    # Renaming onto an existing name is refused too.
    other = (await create(client, tenant, name="Billing")).json()
    r = await client.put(
        f"/api/v1/hubs/{other['hubId']}", json={"name": "support"}, headers=tenant.portal
    )
    assert r.status_code == 400
    assert codes(r) == [600]
    # Renaming to itself in another case is fine.
    r = await client.put(
        f"/api/v1/hubs/{other['hubId']}", json={"name": "BILLING"}, headers=tenant.portal
    )
    assert r.status_code == 200 and r.json()["name"] == "BILLING"


async def test_concurrent_creates_of_one_name(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    results = await asyncio.gather(*(create(client, tenant, name="Race") for _ in range(8)))
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [400] * 7
    for r in results:
        if r.status_code == 400:
            assert codes(r) == [600]


async def test_update_bad_input_and_order_of_checks(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    hub = (await create(client, tenant)).json()
    url = f"/api/v1/hubs/{hub['hubId']}"
    r = await client.put(url, json={"name": None}, headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [302]
    r = await client.put(url, json={"statusId": 5}, headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [206]
    r = await client.put(url, content=b"nope", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [300]
    # A body error on a missing hub answers 404: existence is checked first.
    r = await client.put(f"/api/v1/hubs/{uuid.uuid4()}", content=b"nope", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [699]
    r = await client.put("/api/v1/hubs/not-a-guid", content=b"nope", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [203]
    r = await client.put(url, content=b"nope")
    assert r.status_code == 401
    unchanged = (await client.get(url, headers=tenant.portal)).json()
    assert unchanged == hub


async def test_update_of_a_hub_deleted_after_its_check_is_not_found(
    client: httpx.AsyncClient, tenant: TenantCreds, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unihub.hubs import service

    hub_id = (await create(client, tenant)).json()["hubId"]
    checked = service.require

    async def then_deleted(*args: object) -> object:
        row = await checked(*args)  # type: ignore[arg-type]
        # Another request (its own task), finished before this one writes.
        r = await asyncio.create_task(
            client.delete(f"/api/v1/hubs/{hub_id}", headers=tenant.portal)
        )
        assert r.status_code == 200
        return row

    monkeypatch.setattr(service, "require", then_deleted)
    r = await client.put(f"/api/v1/hubs/{hub_id}", json={"name": "x"}, headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [699]


async def test_malformed_guids(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    for method in ("GET", "DELETE", "PUT"):
        r = await client.request(method, "/api/v1/hubs/1234", headers=tenant.portal, json={})
        assert r.status_code == 400
        assert codes(r) == [203]


async def test_other_tenants_hub_is_not_found(
    client: httpx.AsyncClient, tenant: TenantCreds, other_tenant: TenantCreds
) -> None:
    hub = (await create(client, tenant)).json()
    missing = await client.get(f"/api/v1/hubs/{uuid.uuid4()}", headers=other_tenant.portal)
    for method in ("GET", "PUT", "DELETE"):
        r = await client.request(
            method, f"/api/v1/hubs/{hub['hubId']}", headers=other_tenant.portal, json={"name": "x"}
        )
        assert r.status_code == 404
        assert codes(r) == [699]
        assert r.json()["errors"][0]["description"].replace(hub["hubId"], "ID") == missing.json()[
            "errors"
        ][0]["description"].replace(missing.url.path.rsplit("/", 1)[1], "ID")
    assert (await client.get(f"/api/v1/hubs/{hub['hubId']}", headers=tenant.portal)).json() == hub
    listing = (await client.get("/api/v1/hubs", headers=other_tenant.portal)).json()
    assert listing["total"] == 0


async def test_pagination(client: httpx.AsyncClient, tenant: TenantCreds) -> None:
    names = [f"p{i:02d}" for i in range(7)]
    for name in names:
        assert (await create(client, tenant, name=name)).status_code == 200
    seen: list[str] = []
    for page in range(3):
        r = await client.get(f"/api/v1/hubs?pageNumber={page}&pageSize=3", headers=tenant.portal)
        assert r.status_code == 200
        body = r.json()
        assert (body["pageNumber"], body["pageSize"], body["total"]) == (page, 3, 7)
        seen += [h["name"] for h in body["results"]]
        for item in body["results"]:
            assert set(item) >= {"hubId", "tenantId", "name", "statusId", "created"}
    assert seen == names  # creation order, each exactly once
    default = (await client.get("/api/v1/hubs", headers=tenant.portal)).json()
    assert (default["pageNumber"], default["pageSize"]) == (0, 50)
    beyond = (await client.get("/api/v1/hubs?pageNumber=9", headers=tenant.portal)).json()
    assert beyond["results"] == [] and beyond["total"] == 7


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pageNumber=-1", [209]),
        ("pageSize=0", [207]),
        ("pageSize=101", [207]),
        ("pageSize=abc", [210]),
        ("pageNumber=1.5", [210]),
        ("pageNumber=x&pageSize=y", [210, 210]),
    ],
)
async def test_pagination_bad_arguments(
    client: httpx.AsyncClient, tenant: TenantCreds, query: str, expected: list[int]
) -> None:
    r = await client.get(f"/api/v1/hubs?{query}", headers=tenant.portal)
    assert r.status_code == 400
    assert codes(r) == expected


async def test_close_dormant_zero_means_never(
    client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    r = await create(client, tenant, closeDormantConversation=0)
    assert r.status_code == 200
    assert "closeDormantConversation" not in r.json()


async def test_deep_pages_from_anchors_match_the_full_order(
    client: httpx.AsyncClient, tenant: TenantCreds, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unihub.hubs import repository

    # Small anchors so a few hubs exercise the deep-page path that 100,000 hubs take.
    monkeypatch.setattr(repository, "DEEP_OFFSET", 3)
    monkeypatch.setattr(repository, "ANCHOR_EVERY", 4)

    async def full_order() -> list[str]:
        r = await client.get("/api/v1/hubs?pageSize=100", headers=tenant.portal)
        assert r.status_code == 200
        return [h["hubId"] for h in r.json()["results"]]

    async def paged(size: int) -> list[str]:
        ids: list[str] = []
        number = 0
        while True:
            r = await client.get(
                f"/api/v1/hubs?pageNumber={number}&pageSize={size}", headers=tenant.portal
            )
            assert r.status_code == 200
            body = r.json()
            assert body["total"] == len(await full_order())
            if not body["results"]:
                return ids
            ids += [h["hubId"] for h in body["results"]]
            number += 1

    created = [(await create(client, tenant)).json()["hubId"] for _ in range(23)]
    assert await full_order() == created
    for size in (1, 3, 4, 5, 7):
        assert await paged(size) == created

    # Deletes and creates change the order: cached anchors must not serve the old one.
    for hub_id in created[2:9:2]:
        assert (
            await client.delete(f"/api/v1/hubs/{hub_id}", headers=tenant.portal)
        ).status_code == 200
    created = [h for h in created if h not in created[2:9:2]]
    created += [(await create(client, tenant)).json()["hubId"] for _ in range(3)]
    assert await full_order() == created
    for size in (2, 4, 6):
        assert await paged(size) == created


async def test_create_waits_for_a_held_write_lock_then_lands(
    ctx: AppContext, client: httpx.AsyncClient, tenant: TenantCreds
) -> None:
    if not ctx.db.is_sqlite:
        pytest.skip("SQLite admits one writer at a time; PostgreSQL locks rows")
    async with ctx.db.write():  # another writer of this process holds SQLite's write lock
        pending = asyncio.create_task(create(client, tenant, name="queued"))
        await asyncio.sleep(0.2)
        assert not pending.done()  # it queues: no busy error, no 503
    r = await pending
    assert r.status_code == 200, r.text
    got = await client.get(f"/api/v1/hubs/{r.json()['hubId']}", headers=tenant.portal)
    assert got.json()["name"] == "queued"
