"""Hypothesis properties: paging sees each hub exactly once; racing creates never duplicate."""

from __future__ import annotations

import asyncio

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TenantCreds, new_tenant
from unihub.core.context import AppContext

_SETTINGS = settings(
    max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


@_SETTINGS
@given(count=st.integers(min_value=0, max_value=23), page_size=st.integers(1, 10))
async def test_paging_yields_each_hub_once(
    ctx: AppContext, client: httpx.AsyncClient, count: int, page_size: int
):
    owner: TenantCreds = await new_tenant(ctx, client, "paging")
    made = set()
    for i in range(count):
        r = await client.post(
            "/api/v1/hubs", headers=owner.portal, json={"name": f"p{i}", "description": "d"}
        )
        made.add(r.json()["hubId"])
    seen: list[str] = []
    page = 0
    while True:
        r = await client.get(
            "/api/v1/hubs", headers=owner.portal, params={"pageNumber": page, "pageSize": page_size}
        )
        body = r.json()
        assert body["total"] == count
        if not body["results"]:
            break
        seen += [h["hubId"] for h in body["results"]]
        page += 1
    assert sorted(seen) == sorted(made)


@_SETTINGS
@given(
    names=st.lists(
        st.sampled_from(["Alpha", "alpha", "ALPHA", "beta", "Beta"]), min_size=2, max_size=8
    )
)
async def test_concurrent_creates_never_duplicate_a_name(
    ctx: AppContext, client: httpx.AsyncClient, names: list[str]
):
    owner: TenantCreds = await new_tenant(ctx, client, "racing")
    answers = await asyncio.gather(
        *(
            client.post("/api/v1/hubs", headers=owner.portal, json={"name": n, "description": "d"})
            for n in names
        )
    )
    assert {r.status_code for r in answers} <= {200, 400}
    created = [r.json()["name"].casefold() for r in answers if r.status_code == 200]
    assert sorted(created) == sorted(set(n.casefold() for n in names))
    listed = await client.get("/api/v1/hubs", headers=owner.portal, params={"pageSize": 100})
    assert sorted(h["name"].casefold() for h in listed.json()["results"]) == sorted(created)
