# ruff: noqa: ASYNC110, ASYNC220, ASYNC221
"""Engine throughput and delivery latency, on SQLite and PostgreSQL.

Starts a real `unihub serve` (fresh data dir or database `unihub_engine_bench`) and a local
webhook receiver, posts activities over many conversations at a fixed client concurrency, and
reports activities accepted per second and the time from posting an activity until its signed
webhook reached the receiver (p50/p99). Prints a markdown table.

    python bench/engine.py [--activities 2000] [--conversations 50] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import unihub.models  # noqa: E402, F401  (every table, for foreign keys)
from unihub.core.config import Settings  # noqa: E402
from unihub.core.database import Database  # noqa: E402
from unihub.core.security import SecretBox, new_signing_key_hex, secret_key_material  # noqa: E402
from unihub.integrations.models import Integration  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}  # "conversation:eventId" -> perf_counter
        self.lock = threading.Lock()

    async def hook(self, request: Request) -> PlainTextResponse:
        body = orjson.loads(await request.body())
        now = time.perf_counter()
        key = f"{body['conversationId']}:{body['activity']['eventId']}"
        with self.lock:
            self.arrivals.setdefault(key, now)
        return PlainTextResponse("ok")

    def serve(self) -> str:
        port = _port()
        app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
        )
        server = uvicorn.Server(config)
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.01)
        return f"http://127.0.0.1:{port}/hook"


async def _pg_url() -> str | None:
    admin = os.environ.get("UNIHUB_PG_ADMIN_URL")
    if not admin:
        return None
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        await conn.execute('DROP DATABASE IF EXISTS "unihub_engine_bench" WITH (FORCE)')
        await conn.execute('CREATE DATABASE "unihub_engine_bench"')
    finally:
        await conn.close()
    return admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + (
        "/unihub_engine_bench"
    )


async def run(backend: str, database_url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="unihub-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIHUB_")}
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        UNIHUB_DATA_DIR=str(data_dir),
        UNIHUB_SECRET_KEY="bench",
        UNIHUB_ALLOW_PRIVATE_WEBHOOKS="true",
        UNIHUB_RATE_LIMIT="off",
        UNIHUB_LOG_LEVEL="WARNING",
    )
    if database_url:
        env["UNIHUB_DATABASE_URL"] = database_url
    created = subprocess.run(
        [sys.executable, "-m", "unihub.cli", "tenants", "create", "--name", "bench"],
        env=env,
        capture_output=True,
        check=True,
    )
    creds = orjson.loads(created.stdout)
    receiver = Receiver()
    hook = receiver.serve()
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "unihub.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key="bench")
    db = Database(settings.resolved_database_url)
    try:
        limits = httpx.Limits(max_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
            for _ in range(600):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)

            async def token(c: dict[str, str]) -> dict[str, str]:
                r = await http.post(
                    "/connect/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": c["clientId"],
                        "client_secret": c["clientSecret"],
                    },
                )
                return {"Authorization": f"Bearer {r.json()['access_token']}"}

            portal = await token(creds["clients"]["portal"])
            engine = await token(creds["clients"]["engine"])
            hub = (
                await http.post(
                    "/api/v1/hubs", headers=portal, json={"name": "bench", "description": "bench"}
                )
            ).json()
            box = SecretBox(secret_key_material(settings))
            ids = []
            for kind, conf in (("Customer", {}), ("Agent", {"webhookUrl": hook})):
                row = Integration(
                    id=uuid.uuid4(),
                    tenant_id=uuid.UUID(creds["tenantId"]),
                    hub_id=uuid.UUID(hub["hubId"]),
                    channel_id=1,
                    integration_type=kind,
                    name=kind,
                    name_key=kind.lower(),
                    configuration=orjson.dumps({"integrationType": kind, **conf}).decode(),
                    public_signing_key=new_signing_key_hex(),
                    private_signing_key=box.encrypt(new_signing_key_hex()),
                )
                async with db.write() as s:
                    s.add(row)
                ids.append(str(row.id))
            convs = []
            for n in range(args.conversations):
                r = await http.post(
                    "/api/v1/conversations/establish",
                    headers=engine,
                    json={"integrationId": ids[0], "binding": f"b{n}", "channelType": "Direct"},
                )
                convs.append(r.json()["conversationId"])

            sent: dict[str, float] = {}
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(args.activities):
                queue.put_nowait(i)

            async def worker() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    cid = convs[i % len(convs)]
                    t0 = time.perf_counter()
                    r = await http.post(
                        f"/inbound/customer/v1/direct/activity/{cid}",
                        headers=engine,
                        json={"type": "message", "message": {"type": "text", "text": f"m{i}"}},
                    )
                    r.raise_for_status()
                    sent[f"{cid}:{r.json()['eventId']}"] = t0

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            elapsed = time.perf_counter() - start
            deadline = time.perf_counter() + 300
            while len(receiver.arrivals) < len(sent) and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
        lat = sorted(
            (receiver.arrivals[k] - t) * 1000 for k, t in sent.items() if k in receiver.arrivals
        )
        return {
            "backend": backend,
            "activities": len(sent),
            "accepted_per_s": len(sent) / elapsed,
            "p50_ms": statistics.median(lat),
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "delivered": len(lat),
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    rows = [asyncio.run(run("SQLite", None, args))]
    pg = asyncio.run(_pg_url())
    if pg:
        rows.append(asyncio.run(run("PostgreSQL", pg, args)))
    print("| backend | activities | accepted/s | post→webhook p50 (ms) | p99 (ms) | delivered |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['activities']} | {r['accepted_per_s']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['delivered']} |"
        )


if __name__ == "__main__":
    main()
