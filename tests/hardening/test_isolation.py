"""Tenant isolation across every route: walk the OpenAPI paths with another tenant's token.

Adding a resource type is one factory below: name its path parameter and how tenant A makes
one. Every path whose parameters can all be filled is called with every method it has, by
tenant B, and must answer 404 exactly as if the resource did not exist.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.conftest import TenantCreds
from unihub.core.errors import prefix_for_path

Factory = Callable[[httpx.AsyncClient, TenantCreds], Awaitable[str]]


async def _hub(client: httpx.AsyncClient, owner: TenantCreds) -> str:
    r = await client.post(
        "/api/v1/hubs", headers=owner.portal, json={"name": "isolated", "description": "d"}
    )
    assert r.status_code == 200, r.text
    hub_id: str = r.json()["hubId"]
    return hub_id


FACTORIES: dict[str, Factory] = {
    "hubId": _hub,
}


def _params(operation: dict[str, Any], path: str) -> list[tuple[str, str]]:
    found = [(p["name"], p["in"]) for p in operation.get("parameters", []) if p.get("required")]
    found += [(name, "path") for name in re.findall(r"{(\w+)}", path)]
    return list(dict.fromkeys(found))


async def test_other_tenants_ids_are_not_found_on_every_route(
    app: Any, client: httpx.AsyncClient, tenant: TenantCreds, other_tenant: TenantCreds
):
    ids = {name: await make(client, tenant) for name, make in FACTORIES.items()}
    checked = []
    for path, item in app.openapi()["paths"].items():
        prefix = prefix_for_path(path)
        if prefix == "IDT":
            continue
        for method, operation in item.items():
            params = _params(operation, path)
            if not params or any(name not in ids for name, _ in params):
                continue
            url = path
            query = {}
            for name, where in params:
                if where == "path":
                    url = url.replace("{" + name + "}", ids[name])
                else:
                    query[name] = ids[name]
            auth = other_tenant.portal if prefix == "PRT" else other_tenant.engine
            r = await client.request(
                method.upper(), url, headers=auth, params=query, json={"name": "x"}
            )
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            checked.append((method, path))
            # And the owner can reach it: the 404 is isolation, not a broken route.
            if method == "get":
                owner = tenant.portal if prefix == "PRT" else tenant.engine
                assert (await client.get(url, headers=owner, params=query)).status_code == 200
    assert ("get", "/api/v1/hubs/{hubId}") in checked

    # Collections never list another tenant's resources.
    for path, item in app.openapi()["paths"].items():
        if "{" in path or "get" not in item or prefix_for_path(path) != "PRT":
            continue
        if any(p.get("required") for p in item["get"].get("parameters", [])):
            continue
        r = await client.get(path, headers=other_tenant.portal)
        if r.status_code == 200:
            assert not any(v in r.text for v in ids.values()), path
