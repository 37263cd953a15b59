"""`python -m bench [--quick] [--soak] [--backend sqlite|postgresql|all] [--label NAME]`.

Starts its own servers (scratch data dirs, free ports; PostgreSQL databases `unihub_perf_*`),
seeds data, drives `wrk`, writes `bench/results/<label>.json` and the tables of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # the checkout's sources, not an installed copy

from bench import report, seed, servers, wrk  # noqa: E402
from bench.scenarios import CEILING, SCENARIOS, Scenario  # noqa: E402

PG_ADMIN = os.environ.get("UNIHUB_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:55432/postgres")
LIST_HUBS = 100_000
RESULTS = ROOT / "bench" / "results"


def _fill(template: str, fixtures: dict[str, str]) -> str:
    for key, value in fixtures.items():
        template = template.replace("{" + key + "}", value)
    return template


def _route_exists(base_url: str, template: str, fixtures: dict[str, str]) -> bool:
    import httpx

    path = template.replace("{hubId}", fixtures["hub_id"])
    r = httpx.post(base_url + path, content=b"{}", headers=_headers(fixtures, "portal_token"))
    # An unknown route answers 404 with code 105; the real one 400/404-699 on an empty body.
    return not (r.status_code in (404, 405) and r.json().get("errors", [{}])[0].get("code") == 105)


def _headers(fixtures: dict[str, str], token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {fixtures[token]}"} if token else {}


def measure(
    tool: str, server: servers.Server, sc: Scenario, fixtures: dict[str, str], opts: Any
) -> dict[str, Any]:
    headers = _headers(fixtures, sc.token)
    if sc.body is not None:
        headers["Content-Type"] = sc.content_type
    url = server.url + _fill(sc.path, fixtures)
    body = _fill(sc.body, fixtures) if sc.body else None
    connections = sc.connections or opts.connections
    run = functools.partial(
        wrk.run, tool, url, method=sc.method, headers=headers, body=body, unique=sc.unique,
        threads=min(opts.threads, connections), connections=connections,
    )  # fmt: skip
    run(duration_s=1)  # a short warm-up fills caches and connection pools
    res = run(duration_s=opts.duration)
    out = {
        "scenario": sc.name,
        "title": sc.title,
        "rps": round(res.rps, 1),
        "p50_ms": round(res.p50_ms, 2),
        "p99_ms": round(res.p99_ms, 2),
        "requests": res.requests,
        "errors": res.errors,
        "connections": connections,
        "peak_rss_mb": round(server.peak_rss_mb(), 1),
    }
    print(
        f"  {sc.name:20} {out['rps']:>9.0f}/s  p50 {out['p50_ms']:>7.2f} ms  "
        f"p99 {out['p99_ms']:>7.2f} ms  errors {out['errors']}  "
        f"rss {out['peak_rss_mb']} MB",
        flush=True,
    )
    return out


def _createdb(name: str) -> str:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "createdb.py"), PG_ADMIN, name], check=True
    )
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


def _fake_twilio() -> tuple[str, Any]:
    from tests.fakes.server import run_app_in_thread

    from bench.fake_twilio import AnyNumberTwilio

    fake = AnyNumberTwilio()
    fake.base_url, stop = run_app_in_thread(fake.app)
    return fake.base_url, stop


def run_config(
    tool: str,
    label: str,
    backend: str,
    workers: int,
    database_url: str | None,
    twilio_url: str,
    scenarios: list[Scenario],
    opts: Any,
    seeded: dict[str, str] | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    print(f"== {label}: {backend}, {workers} worker(s)", flush=True)
    ceiling = servers.start_ceiling(workers)
    try:
        base = measure(tool, ceiling, CEILING, {}, opts)
    finally:
        ceiling.stop()
    os.environ["UNIHUB_TWILIO_API_URL"] = twilio_url
    server = servers.start_unihub(database_url, workers)
    try:
        if database_url is None:
            database_url = f"sqlite+aiosqlite:///{server.data_dir / 'unihub.db'}"
        if seeded is None:
            t0 = time.monotonic()
            seeded = seed.tenant_with_hubs(database_url, opts.list_hubs)
            print(f"  seeded {opts.list_hubs} hubs in {time.monotonic() - t0:.1f}s", flush=True)
        if (server.data_dir / "bootstrap-credentials.json").exists():
            # A fresh database: the default tenant created at startup makes the hub requests.
            creds = server.bootstrap_credentials()["clients"]["portal"]
            seeded["_client_id"] = creds["clientId"]
            seeded["_client_secret"] = creds["clientSecret"]
        from bench.fake_twilio import ACCOUNT_SID, AUTH_TOKEN

        fixtures = {
            "client_id": seeded["_client_id"],
            "client_secret": seeded["_client_secret"],
            "twilio_account": ACCOUNT_SID,
            "twilio_token": AUTH_TOKEN,
        }
        fixtures["portal_token"] = seed.token(
            server.url, fixtures["client_id"], fixtures["client_secret"]
        )
        fixtures["list_token"] = seed.token(
            server.url, seeded["client_id"], seeded["client_secret"]
        )
        suffix = f"{os.getpid()}-{time.time_ns()}"
        fixtures["hub_id"] = seed.hub(server.url, fixtures["portal_token"], f"get-{suffix}")
        fixtures["integration_hub_id"] = seed.hub(
            server.url, fixtures["portal_token"], f"int-{suffix}"
        )
        results = [base]
        for sc in scenarios:
            if sc.requires_route and not _route_exists(server.url, sc.requires_route, fixtures):
                print(f"  {sc.name:20} skipped: {sc.requires_route} does not exist yet")
                results.append(
                    {
                        "scenario": sc.name,
                        "title": sc.title,
                        "skipped": f"route {sc.requires_route} not present",
                    }
                )
                continue
            results.append(measure(tool, server, sc, fixtures, opts))
        for r in results:
            if "rps" in r and r is not base:
                r["ratio"] = round(r["rps"] / base["rps"], 4) if base["rps"] else None
        config = {"backend": backend, "workers": workers, "results": results}
        return config, seeded
    finally:
        server.stop()


def soak(tool: str, opts: Any) -> dict[str, Any]:
    """GET hub until `opts.soak_requests` answers; RSS sampled after every chunk."""
    server = servers.start_unihub(None, 1)
    try:
        creds = server.bootstrap_credentials()["clients"]["portal"]
        bearer = seed.token(server.url, creds["clientId"], creds["clientSecret"])
        hub_id = seed.hub(server.url, bearer, "soak")
        url = f"{server.url}/api/v1/hubs/{hub_id}"
        headers = {"Authorization": f"Bearer {bearer}"}
        total, errors, samples = 0, 0, []
        while total < opts.soak_requests:
            res = wrk.run(
                tool,
                url,
                headers=headers,
                duration_s=15,
                threads=opts.threads,
                connections=opts.connections,
            )
            total += res.requests
            errors += res.errors
            samples.append({"requests": total, "rss_mb": round(server.rss_mb(), 1)})
            print(f"  soak: {total} requests, rss {samples[-1]['rss_mb']} MB", flush=True)
        first, last = samples[0]["rss_mb"], samples[-1]["rss_mb"]
        return {
            "requests": total,
            "errors": errors,
            "samples": samples,
            "rss_first_mb": first,
            "rss_last_mb": last,
            "rss_max_mb": max(s["rss_mb"] for s in samples),
            "change": round((last - first) / first, 4),
        }
    finally:
        server.stop()


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    try:
        pg = asyncio.run(_pg_version())
    except Exception as exc:  # PostgreSQL is optional for a SQLite-only run
        pg = f"unavailable ({type(exc).__name__})"
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "wrk": (wrk_version.stdout or wrk_version.stderr).split("[")[0].strip(),
    }


async def _pg_version() -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    try:
        version: str = await conn.fetchval("SHOW server_version")
        return version
    finally:
        await conn.close()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="CI smoke: short runs, 5,000 list hubs")
    p.add_argument("--soak", action="store_true", help="only the RSS soak (1M GET hub)")
    p.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    p.add_argument("--label", default=None, help="results file name (default: latest/quick)")
    p.add_argument("--only", default="", help="comma-separated scenario names")
    p.add_argument("--duration", type=int, default=None, help="seconds per scenario")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--soak-requests", type=int, default=1_000_000)
    p.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    opts = p.parse_args()
    opts.duration = opts.duration or (3 if opts.quick else 10)
    opts.list_hubs = 5_000 if opts.quick else LIST_HUBS
    label = opts.label or ("quick" if opts.quick else "soak" if opts.soak else "latest")
    tool = wrk.ensure_wrk()
    RESULTS.mkdir(exist_ok=True)
    started = time.time()
    doc: dict[str, Any] = {
        "label": label,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "list_hubs": opts.list_hubs,
        "duration_s": opts.duration,
        "threads": opts.threads,
        "connections": opts.connections,
        "configs": [],
    }
    if opts.soak:
        doc["soak"] = soak(tool, opts)
    else:
        wanted = {n for n in opts.only.split(",") if n}
        scenarios = [s for s in SCENARIOS if not wanted or s.name in wanted]
        twilio_url, stop_twilio = _fake_twilio()
        try:
            if opts.backend in ("sqlite", "all"):
                config, _ = run_config(
                    tool, label, "sqlite", 1, None, twilio_url, scenarios, opts, None
                )
                doc["configs"].append(config)
            if opts.backend in ("postgresql", "all"):
                url = _createdb("unihub_perf_bench")
                seeded = None
                for workers in (1, 2):
                    config, seeded = run_config(
                        tool, label, "postgresql", workers, url, twilio_url, scenarios, opts, seeded
                    )
                    doc["configs"].append(config)
        finally:
            stop_twilio()
    doc["elapsed_s"] = round(time.time() - started)
    (RESULTS / f"{label}.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"results: bench/results/{label}.json ({doc['elapsed_s']}s)")
    if not opts.no_report:
        report.write(ROOT / "BENCHMARKS.md", RESULTS)
        print("tables written to BENCHMARKS.md")


if __name__ == "__main__":
    main()
