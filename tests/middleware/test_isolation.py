"""Tenant isolation across every route: walk the OpenAPI paths with another tenant's token.

Adding a resource type is one line in `Resources`: the id tenant A's resource has, under the
name of its path parameter (optionally qualified by a path prefix). Every path is called with
every method it has, by tenant B, and must answer 404 as if the resource did not exist.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import TenantCreds
from unihub.core.errors import prefix_for_path


async def _post(client: httpx.AsyncClient, url: str, headers: dict[str, str], body: Any) -> Any:
    r = await client.post(url, headers=headers, json=body)
    assert r.status_code == 200, (url, r.text)
    return r.json()


class Resources:
    """Tenant A's resources, made once per test: one of each kind a path can name."""

    def __init__(self, client: httpx.AsyncClient, owner: TenantCreds) -> None:
        self.client = client
        self.owner = owner
        self.ids: dict[str, str] = {}

    async def make(self) -> None:
        c, o = self.client, self.owner
        hub = await _post(c, "/api/v1/hubs", o.portal, {"name": "isolated", "description": "d"})
        hub_id = hub["hubId"]
        webchat = await _post(
            c,
            f"/api/v1/integrations/hubs/{hub_id}",
            o.portal,
            {"channelId": "WebChat", "name": "web", "configuration": {"allowedOrigins": ["a.io"]}},
        )
        await _post(
            c,
            f"/api/v1/integrations/hubs/{hub_id}",
            o.portal,
            {"channelId": "Direct", "name": "agent", "configuration": {"integrationType": "Agent"}},
        )
        transfer = await _post(
            c,
            f"/api/v1/commands/transfers/{hub_id}",
            o.portal,
            {"name": "t", "url": "https://example.com/x", "linkDescription": "go"},
        )
        response = await _post(
            c,
            f"/api/v1/commands/responses/{hub_id}",
            o.portal,
            {
                "name": "r",
                "integrationTypeId": "agent",
                "type": "message",
                "responses": [{"type": "text", "text": "hi"}],
            },
        )
        conversation = await _post(
            c,
            "/api/v1/conversations/establish",
            o.engine,
            {"integrationId": webchat["integrationId"], "binding": "b-1", "channelType": "WebChat"},
        )
        client_doc = (
            await c.get(f"/api/v1/tenants/clients/{o.portal_client_id}", headers=o.portal)
        ).json()
        self.ids = {
            "hubId": hub_id,
            "integrationId": webchat["integrationId"],
            "channelType": "WebChat",
            "type": "customer",
            "conversationId": conversation["conversationId"],
            "clientId": o.portal_client_id,
            "tokenId": str(client_doc["secrets"][0]["id"]),
            "/api/v1/commands/transfers:commandId": transfer["commandId"],
            "/api/v1/commands/responses:commandId": response["commandId"],
        }

    def value(self, path: str, name: str) -> str | None:
        for key, value in self.ids.items():
            prefix, _, param = key.rpartition(":")
            if param == name and (not prefix or path.startswith(prefix)):
                return value
        return None


def _params(operation: dict[str, Any], path: str) -> list[tuple[str, str]]:
    found = [(p["name"], p["in"]) for p in operation.get("parameters", []) if p.get("required")]
    found += [(name, "path") for name in re.findall(r"{(\w+)}", path)]
    return list(dict.fromkeys(found))


# Anonymous by design (no tenant to isolate): the WebChat widget on a business's site asks for
# its visitor token and its public config; `allowedOrigins` guards both
# (tests/engine/test_webchat.py, tests/webchat/test_endpoints.py).
PUBLIC_PATHS = {
    "/api/v1/integrations/web-chat/token/{integrationId}",
    "/api/v1/integrations/web-chat/config/{integrationId}",
}


async def test_other_tenants_ids_are_not_found_on_every_route(
    app: Any, client: httpx.AsyncClient, tenant: TenantCreds, other_tenant: TenantCreds
):
    resources = Resources(client, tenant)
    await resources.make()
    checked = []
    for path, item in app.openapi()["paths"].items():
        prefix = prefix_for_path(path)
        if prefix == "IDT" or path in PUBLIC_PATHS:
            continue
        for method, operation in item.items():
            params = _params(operation, path)
            values = {name: resources.value(path, name) for name, _ in params}
            if not params or any(v is None for v in values.values()):
                continue
            url = path
            query = {}
            for name, where in params:
                if where == "path":
                    url = url.replace("{" + name + "}", str(values[name]))
                else:
                    query[name] = str(values[name])
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
    # Every path with parameters was walked: a new resource kind needs a line in Resources.
    walked = {p for _, p in checked}
    for path in app.openapi()["paths"]:
        if "{" in path and prefix_for_path(path) != "IDT" and path not in PUBLIC_PATHS:
            assert path in walked, f"no tenant-A resource for {path}"

    # Collections never list another tenant's resources.
    for path, item in app.openapi()["paths"].items():
        if "{" in path or "get" not in item or prefix_for_path(path) != "PRT":
            continue
        if any(p.get("required") for p in item["get"].get("parameters", [])):
            continue
        r = await client.get(path, headers=other_tenant.portal)
        if r.status_code == 200:
            assert not any(v in r.text for v in resources.ids.values() if len(v) > 20), path
