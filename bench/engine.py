# ruff: noqa: ASYNC220, ASYNC221
"""Engine throughput and delivery latency, on SQLite and PostgreSQL.

Starts a real `unihub serve` (fresh data dir or database `unihub_engine_bench`) and a local
webhook receiver, posts activities over many conversations at a fixed client concurrency, and
reports activities accepted per second and the time from posting an activity until its signed
webhook reached the receiver (p50/p99). Prints a markdown table.

A first phase saturates the server (`--concurrency` clients posting back to back) and gives
the throughput; a second posts at a fixed, moderate rate (`--rate`) and gives the latency a
receiver sees in normal operation.

    python bench/engine.py [--activities 2000] [--conversations 50] [--concurrency 32]
                           [--rate 100] [--rate-activities 1000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
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


async def _pg_url(name: str) -> str | None:
    admin = os.environ.get("UNIHUB_PG_ADMIN_URL")
    if not admin:
        return None
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"


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
    command = [sys.executable, "-m", "unihub.cli", "serve", "--port", str(port)]
    if args.profile:
        report = Path(args.profile) / f"engine-{backend.lower()}.txt"
        report.parent.mkdir(parents=True, exist_ok=True)
        command[1:1] = ["-m", "pyinstrument", "-r", "text", "-o", str(report)]
    proc = subprocess.Popen(
        command,
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

            # The load itself goes through aiohttp: httpx's connection pool costs ~2 ms of CPU
            # per request at this concurrency, enough to make the bench its own bottleneck.
            load = aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=0))

            async def post(i: int, sent: dict[str, float]) -> None:
                cid = convs[i % len(convs)]
                body = {"type": "message", "message": {"type": "text", "text": f"m{i}"}}
                t0 = time.perf_counter()
                async with load.post(
                    f"/inbound/customer/v1/direct/activity/{cid}", headers=engine, json=body
                ) as r:
                    r.raise_for_status()
                    answer = orjson.loads(await r.read())
                sent[f"{cid}:{answer['eventId']}"] = t0

            async def drained(sent: dict[str, float]) -> list[float]:
                deadline = time.perf_counter() + 300
                while time.perf_counter() < deadline:
                    with receiver.lock:
                        if all(k in receiver.arrivals for k in sent):
                            break
                    await asyncio.sleep(0.05)
                with receiver.lock:
                    return sorted(
                        (receiver.arrivals[k] - t) * 1000
                        for k, t in sent.items()
                        if k in receiver.arrivals
                    )

            # Phase 1, saturation: `concurrency` clients post back to back.
            burst: dict[str, float] = {}
            counter = iter(range(args.activities))

            async def client() -> None:
                for i in counter:
                    await post(i, burst)

            start = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(args.concurrency)))
            elapsed = time.perf_counter() - start
            burst_lat = await drained(burst)

            # Phase 2, moderate load: an open-loop arrival rate of `rate` activities/s.
            steady: dict[str, float] = {}
            tasks = []
            begin = time.perf_counter()
            for n in range(args.rate_activities):
                delay = begin + n / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(args.activities + n, steady)))
            await asyncio.gather(*tasks)
            steady_lat = await drained(steady)
            await load.close()

        def pct(lat: list[float], q: float) -> float:
            return lat[min(len(lat) - 1, int(len(lat) * q))] if lat else float("nan")

        return {
            "backend": backend,
            "activities": len(burst),
            "accepted_per_s": len(burst) / elapsed,
            "p50_ms": pct(burst_lat, 0.5),
            "p99_ms": pct(burst_lat, 0.99),
            "delivered": len(burst_lat) + len(steady_lat),
            "sent": len(burst) + len(steady),
            "rate": args.rate,
            "rate_p50_ms": pct(steady_lat, 0.5),
            "rate_p99_ms": pct(steady_lat, 0.99),
        }
    finally:
        # uvicorn re-raises SIGTERM after shutting down, which would kill pyinstrument before
        # it writes its report; SIGINT ends both cleanly.
        proc.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
        proc.wait(timeout=120)
        await db.dispose()


# Measured on the 2-core development machine before the issue-7 performance work.
BEFORE = (
    {"backend": "SQLite", "accepted_per_s": 78, "p50_ms": 2500.0, "p99_ms": 6600.0},
    {"backend": "PostgreSQL", "accepted_per_s": 59, "p50_ms": 4500.0, "p99_ms": 8700.0},
)


def table(rows: list[dict[str, Any]]) -> str:
    out = [
        "| backend | accepted/s | saturated p50 (ms) | saturated p99 (ms) "
        "| at fixed rate p50 (ms) | at fixed rate p99 (ms) | delivered |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in BEFORE:
        out.append(
            f"| {r['backend']} (before) | {r['accepted_per_s']} | {r['p50_ms']:.0f} "
            f"| {r['p99_ms']:.0f} | - | - | - |"
        )
    for r in rows:
        out.append(
            f"| {r['backend']} | {r['accepted_per_s']:.0f} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['rate_p50_ms']:.1f} @ {r['rate']:.0f}/s "
            f"| {r['rate_p99_ms']:.1f} | {r['delivered']}/{r['sent']} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=2000, help="saturation phase")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100.0, help="fixed-rate phase, per second")
    parser.add_argument("--rate-activities", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-database", default="unihub_engine_bench")
    parser.add_argument(
        "--profile", metavar="DIR", help="run the server under pyinstrument; text reports here"
    )
    args = parser.parse_args()
    wanted = {b.strip().lower() for b in args.backends.split(",")}
    rows = []
    if "sqlite" in wanted:
        rows.append(asyncio.run(run("SQLite", None, args)))
    if "postgresql" in wanted:
        pg = asyncio.run(_pg_url(args.pg_database))
        if pg:
            rows.append(asyncio.run(run("PostgreSQL", pg, args)))
        else:
            print("PostgreSQL skipped: UNIHUB_PG_ADMIN_URL is not set", file=sys.stderr)
    print(table(rows))


if __name__ == "__main__":
    main()
