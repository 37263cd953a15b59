"""PostgreSQL stopped and started under load: 503 while it is away, never 500, then service.

The edges of an outage are where errors hide: a fast shutdown ends sessions (57P01), a
starting server refuses connections (57P03, CannotConnectNowError) and the pool holds dead
connections. Every one must be a 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.middleware.conftest import ClientFactory
from tests.middleware.test_faults import _tenant_token
from tests.pgcluster import Cluster, pg_bin
from unihub.core.config import Settings
from unihub.core.migrate import upgrade

pytestmark = pytest.mark.skipif(
    not os.environ.get("UNIHUB_TEST_DATABASE_URL") or pg_bin() is None,
    reason="runs in the PostgreSQL pass (needs the PostgreSQL binaries)",
)

CYCLES = 3


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster()
    c.init()
    c.start()
    yield c
    c.destroy()


async def _load(worker: int, client: httpx.AsyncClient, auth: dict[str, str],
                stop: asyncio.Event, seen: Counter[int], bad: list[str]) -> None:  # fmt: skip
    i = 0
    while not stop.is_set():
        i += 1
        for r in (
            await client.get("/api/v1/hubs", headers=auth),
            await client.post(
                "/api/v1/hubs", headers=auth, json={"name": f"h{worker}-{i}", "description": "d"}
            ),
        ):
            seen[r.status_code] += 1
            if r.status_code not in (200, 503):
                bad.append(f"{r.status_code} {r.request.method} {r.text[:300]}")
            elif r.status_code == 503:
                assert r.headers["retry-after"]
        await asyncio.sleep(0.005)


async def test_stop_and_start_under_load_answers_no_500(
    make_client: ClientFactory, cluster: Cluster
) -> None:
    await asyncio.to_thread(
        upgrade, Settings(database_url=cluster.url, data_dir=cluster.dir / "unihub")
    )
    client = await make_client(database_url=cluster.url)
    auth = await _tenant_token(cluster.url, client)
    seen: Counter[int] = Counter()
    bad: list[str] = []
    stop = asyncio.Event()
    workers = [asyncio.create_task(_load(n, client, auth, stop, seen, bad)) for n in range(6)]
    try:
        for _ in range(CYCLES):
            await asyncio.sleep(0.5)
            await asyncio.to_thread(cluster.stop, "fast")
            await asyncio.sleep(0.3)
            # Not waiting for readiness: requests meet the server while it starts up.
            await asyncio.to_thread(cluster.start, False)
            for _ in range(200):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*workers)
    assert not bad, bad[:5]
    assert seen[503] > 0 and seen[200] > 0, seen
    after = await client.post(
        "/api/v1/hubs", headers=auth, json={"name": "after", "description": "d"}
    )
    assert after.status_code == 200, after.text
    await client.app.state.ctx.db.dispose()  # type: ignore[attr-defined]
