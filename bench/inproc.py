"""`python -m bench.inproc [--requests N]`: the app's own cost per GET hub, without sockets.

wrk numbers move with the machine's load (the ceiling itself swings ±10% between runs); this
drives the ASGI app directly on uvloop, best of five runs, so a change of a few microseconds in
middleware, routing, dependencies or the query shows up. It is the quick check behind the
"in-process" figures of BENCHMARKS.md; `make bench` remains the measurement of record.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import httpx  # noqa: E402
import uvloop  # noqa: E402
from tests.conftest import make_settings, new_tenant  # noqa: E402

from unihub.app import create_app  # noqa: E402
from unihub.core.migrate import upgrade  # noqa: E402


async def _measure(requests: int) -> float:
    settings = make_settings()
    upgrade(settings)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            tenant = await new_tenant(app.state.ctx, client)
            created = await client.post(
                "/api/v1/hubs", headers=tenant.portal, json={"name": "h", "description": "d"}
            )
        path = f"/api/v1/hubs/{created.json()['hubId']}"
        headers = [
            (b"host", b"127.0.0.1:8080"),
            (b"user-agent", b"bench"),
            (b"authorization", f"Bearer {tenant.portal_token}".encode()),
        ]
        statuses: set[int] = set()

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.add(message["status"])

        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(requests):
                scope = {
                    "type": "http",
                    "asgi": {"version": "3.0"},
                    "http_version": "1.1",
                    "method": "GET",
                    "scheme": "http",
                    "path": path,
                    "raw_path": path.encode(),
                    "query_string": b"",
                    "root_path": "",
                    "headers": headers,
                    "client": ("127.0.0.1", 50000),
                    "server": ("127.0.0.1", 8080),
                    "state": {},
                }
                await app(scope, receive, send)
            best = min(best, (time.perf_counter() - start) / requests)
        if statuses != {200}:
            raise SystemExit(f"unexpected statuses {sorted(statuses)}")
        return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per run (best of 5)")
    args = parser.parse_args()
    micros = uvloop.run(_measure(args.requests))
    print(f"GET hub, in-process (SQLite): {micros:.1f} us per request")


if __name__ == "__main__":
    main()
