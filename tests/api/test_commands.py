"""Rules transfer and response commands share (one generic layer serves both): per-hub name
uniqueness, hub checks, tenant isolation, path checks, listing order and hub cascade."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api import test_response_commands as responses
from tests.api import test_transfer_commands as transfers
from tests.api.helpers import new_hub
from tests.conftest import TenantCreds, codes


@dataclass(frozen=True)
class Kind:
    base: str
    example: dict[str, Any]

    async def create(
        self, client: httpx.AsyncClient, t: TenantCreds, hub_id: str, **body: Any
    ) -> httpx.Response:
        return await client.post(
            f"{self.base}/{hub_id}", json={**self.example, **body}, headers=t.portal
        )


KINDS = [
    pytest.param(Kind(transfers.BASE, transfers.DOC_EXAMPLE), id="transfer"),
    pytest.param(Kind(responses.BASE, responses.DOC_EXAMPLE), id="response"),
]
pytestmark = pytest.mark.parametrize("kind", KINDS)


async def test_name_unique_per_hub_ignoring_case(
    client: httpx.AsyncClient, tenant: TenantCreds, kind: Kind
) -> None:
    hub_a = await new_hub(client, tenant)
    hub_b = await new_hub(client, tenant)
    assert (await kind.create(client, tenant, hub_a, name="Go Home")).status_code == 200
    for taken in ("GO HOME ", "gO hOME"):
        r = await kind.create(client, tenant, hub_a, name=taken)
        assert r.status_code == 400 and codes(r) == [600]
    assert (await kind.create(client, tenant, hub_b, name="go home")).status_code == 200
    other = (await kind.create(client, tenant, hub_a, name="Other")).json()
    url = f"{kind.base}/{other['commandId']}"
    for taken in ("go home", "GO HOME"):
        r = await client.put(url, json={"name": taken}, headers=tenant.portal)
        assert r.status_code == 400 and codes(r) == [600]
    r = await client.put(url, json={"name": "OTHER"}, headers=tenant.portal)
    assert r.status_code == 200 and r.json()["name"] == "OTHER"


async def test_concurrent_creates_of_one_name(
    client: httpx.AsyncClient, tenant: TenantCreds, kind: Kind
) -> None:
    hub_id = await new_hub(client, tenant)
    results = await asyncio.gather(
        *(kind.create(client, tenant, hub_id, name="Race") for _ in range(6))
    )
    assert sorted(r.status_code for r in results) == [200] + [400] * 5
    assert all(codes(r) == [600] for r in results if r.status_code == 400)


async def test_hub_deleted_after_its_check_is_not_found(
    client: httpx.AsyncClient, tenant: TenantCreds, kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unihub.hubs import service as hubs_service

    hub_id = await new_hub(client, tenant)
    checked = hubs_service.require

    async def then_deleted(*args: Any) -> Any:
        row = await checked(*args)
        # Another request (its own task), finished before this one writes.
        r = await asyncio.create_task(
            client.delete(f"/api/v1/hubs/{hub_id}", headers=tenant.portal)
        )
        assert r.status_code == 200
        return row

    monkeypatch.setattr(hubs_service, "require", then_deleted)
    r = await kind.create(client, tenant, hub_id)
    assert r.status_code == 404 and codes(r) == [699]


async def test_hub_and_path_checks(
    client: httpx.AsyncClient, tenant: TenantCreds, kind: Kind
) -> None:
    base = kind.base
    missing = uuid.uuid4()
    # The hub is checked before the body is read.
    for junk in (b"not json", b"junk"):
        r = await client.post(f"{base}/{missing}", content=junk, headers=tenant.portal)
        assert r.status_code == 404 and codes(r) == [699]
    r = await client.get(f"{base}/hub/{missing}", headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [699]
    for path in (f"{base}/bad-guid", f"{base}/hub/bad-guid"):
        r = await client.request(
            "POST" if "hub" not in path else "GET", path, json=kind.example, headers=tenant.portal
        )
        assert r.status_code == 400 and codes(r) == [203]
    r = await client.get(f"{base}/hub/zzz", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [203]
    r = await client.get(f"{base}/1234", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [203]
    r = await client.delete(f"{base}/1234", headers=tenant.portal)
    assert r.status_code == 400 and codes(r) == [203]


async def test_other_tenant_and_engine_token_see_nothing(
    client: httpx.AsyncClient, tenant: TenantCreds, other_tenant: TenantCreds, kind: Kind
) -> None:
    hub_id = await new_hub(client, tenant)
    cmd = (await kind.create(client, tenant, hub_id)).json()
    url = f"{kind.base}/{cmd['commandId']}"
    for method in ("GET", "PUT", "DELETE"):
        r = await client.request(method, url, json={"name": "x"}, headers=other_tenant.portal)
        assert r.status_code == 404 and codes(r) == [105]
    r = await client.post(f"{kind.base}/{hub_id}", json=kind.example, headers=other_tenant.portal)
    assert r.status_code == 404 and codes(r) == [699]
    r = await client.get(f"{kind.base}/hub/{hub_id}", headers=other_tenant.portal)
    assert r.status_code == 404 and codes(r) == [699]
    r = await client.get(url, headers=tenant.engine)
    assert r.status_code == 403 and codes(r) == [101]
    assert (await client.get(url, headers=tenant.portal)).json() == cmd


async def test_listing_order_and_hub_delete_cascades(
    client: httpx.AsyncClient, tenant: TenantCreds, kind: Kind
) -> None:
    hub_id = await new_hub(client, tenant)
    names = [f"c{i}" for i in range(4)]
    ids = [(await kind.create(client, tenant, hub_id, name=n)).json()["commandId"] for n in names]
    listed = (await client.get(f"{kind.base}/hub/{hub_id}", headers=tenant.portal)).json()
    assert [c["name"] for c in listed] == names

    assert (await client.delete(f"/api/v1/hubs/{hub_id}", headers=tenant.portal)).status_code == 200
    for command_id in ids:
        r = await client.get(f"{kind.base}/{command_id}", headers=tenant.portal)
        assert r.status_code == 404


async def test_delete_is_final(client: httpx.AsyncClient, tenant: TenantCreds, kind: Kind) -> None:
    hub_id = await new_hub(client, tenant)
    r = await kind.create(client, tenant, hub_id)
    assert r.status_code == 200, r.text
    url = f"{kind.base}/{r.json()['commandId']}"
    r = await client.delete(url, headers=tenant.portal)
    assert r.status_code == 200 and r.content == b""
    r = await client.get(url, headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [105]
    r = await client.delete(url, headers=tenant.portal)
    assert r.status_code == 404 and codes(r) == [105]
    assert (await client.get(f"{kind.base}/hub/{hub_id}", headers=tenant.portal)).json() == []
