"""Engine throughput and delivery latency, unihub beside its engine ceiling, in the same run.

For each backend (SQLite with `synchronous` NORMAL, SQLite FULL, PostgreSQL), it starts a
real `unihub serve` (fresh data dir, or a fresh database `unihub_engine_bench`) and then the
engine ceiling (`bench/engine_ceiling.py`: the same durable work in a raw ASGI app; database
`unihub_engine_ceiling`), each against the same load generator (`bench/engine_load.py`) and
the same webhook receiver (`bench/engine_receiver.py`), every one its own process. Over 50
conversations with one Agent webhook, the phases are:

1. saturation: `--concurrency` clients post `--activities` back to back: accepted/s, and
   every accepted activity must reach the receiver (checked);
2. fixed rate `--rate` (100/s) and 3. fixed rate `--rate2` (500/s), open loop: post →
   webhook-received p50/p99;
4. PostgreSQL only: unihub with `--workers 2` under saturation, against one process.

The receiver checks order per conversation in every phase. Each phase reports each
process's CPU while posting (% of one core, from /proc/<pid>/stat, the process and its
children), so a saturated load generator is visible. `--runs N` repeats everything (unihub
and the ceiling interleaved, alternating which goes first) and prints the median and min-max
of each figure, with unihub / ceiling as a ratio beside it. The machine's load is printed at
the start and end of each run; PostgreSQL's `fsync` and `synchronous_commit` are read from
the server.

    python -m bench.engine [--runs 3] [--backends sqlite,sqlite-full,postgresql]
        [--activities 2000] [--conversations 50] [--concurrency 32]
        [--rate 100] [--rate-activities 1000] [--rate2 500] [--rate2-activities 2500]
        [--no-pg-workers] [--profile DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import unihub.models  # noqa: E402, F401  (every table, for foreign keys)
from bench import servers  # noqa: E402
from bench.engine_ceiling import token as ceiling_token  # noqa: E402
from unihub.core.config import Settings  # noqa: E402
from unihub.core.database import Database  # noqa: E402
from unihub.core.security import SecretBox, new_signing_key_hex, secret_key_material  # noqa: E402
from unihub.integrations.models import Integration  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
DRAIN_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Backend:
    key: str  # the --backends name
    label: str
    url: str | None  # None: SQLite in the server's data dir
    synchronous: str = "NORMAL"

    @property
    def is_pg(self) -> bool:
        return self.url is not None


# ---------------------------------------------------------------------------------- machine


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f}, {os.cpu_count()} CPUs"


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return out


def cpu_seconds(pid: int, tree: bool = True) -> float:
    """CPU time of `pid` and its descendants, reaped children included (cutime, cstime);
    with `tree` false, of `pid` alone."""
    total = 0
    for p in _tree(pid) if tree else [pid]:
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # utime stime, then cutime cstime
        total += sum(int(f) for f in fields[11 : 15 if tree else 13])
    return total / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all CPUs; /proc/stat, idle and iowait aside)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


class Meter:
    """CPU share of named processes over an interval, % of one core; "other" is the rest of
    the machine's busy time (other processes than these: another job on a shared machine)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids  # "bench" (this process) alone: its descendants are the others

    def _now(self) -> dict[str, float]:
        now = {n: cpu_seconds(p, tree=n != "bench") for n, p in self.pids.items()}
        now["machine"] = machine_busy_seconds()
        return now

    def start(self) -> tuple[float, dict[str, float]]:
        return time.monotonic(), self._now()

    def stop(self, began: tuple[float, dict[str, float]]) -> dict[str, float]:
        t0, before = began
        wall = time.monotonic() - t0
        after = self._now()
        out = {n: 100 * (after[n] - before[n]) / wall for n in self.pids}
        machine = 100 * (after["machine"] - before["machine"]) / wall
        out["other"] = max(0.0, machine - sum(out.values()))
        return out


# ------------------------------------------------------------------------- helper processes


class LoadGenerator:
    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.engine_load"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(orjson.dumps(job) + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the load generator exited")
        result: dict[str, Any] = orjson.loads(line)
        return result

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ReceiverClient:
    def __init__(self, server: servers.Server) -> None:
        self.server = server
        self.hook = f"{server.url}/hook"
        self.http = httpx.Client(base_url=server.url, timeout=60)

    def stats(self) -> dict[str, int]:
        data: dict[str, int] = self.http.get("/stats").json()
        return data

    def take(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.http.post("/take").content)
        return data

    def drain(self, sent: dict[str, float]) -> dict[str, Any]:
        """Waits until every sent activity arrived (or the timeout), then the record of the
        phase (the receiver starts afresh)."""
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        record: dict[str, Any] = {"arrivals": {}, "duplicates": 0, "order_violations": 0}
        record["unsigned"] = 0
        while True:
            missing = len(sent) - len(record["arrivals"])
            while time.monotonic() < deadline and self.stats()["received"] < missing:
                time.sleep(0.05)
            time.sleep(0.2)  # duplicates and strays of this phase land in this phase
            part = self.take()
            record["arrivals"].update(part["arrivals"])
            for name in ("duplicates", "order_violations", "unsigned"):
                record[name] += part[name]
            if all(k in record["arrivals"] for k in sent) or time.monotonic() >= deadline:
                return record


# -------------------------------------------------------------------------------- targets


async def _fresh_pg_database(admin: str, name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"


async def _pg_facts(admin: str) -> dict[str, Any]:
    """The durability settings of record, and the postmaster's pid for its CPU share."""
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        facts: dict[str, Any] = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "full_page_writes", "server_version")
        }
        # The postmaster is this backend's parent (read while the backend is alive).
        facts["postmaster_pid"] = _parent(int(await conn.fetchval("SELECT pg_backend_pid()")))
    finally:
        await conn.close()
    return facts


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


async def _add_integrations(settings: Settings, tenant: str, hub: str, hook: str) -> list[str]:
    db = Database(settings.resolved_database_url)
    box = SecretBox(secret_key_material(settings))
    ids = []
    try:
        for kind, conf in (("Customer", {}), ("Agent", {"webhookUrl": hook})):
            row = Integration(
                id=uuid.uuid4(),
                tenant_id=uuid.UUID(tenant),
                hub_id=uuid.UUID(hub),
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
    finally:
        await db.dispose()
    return ids


@dataclass
class Target:
    server: servers.Server
    headers: dict[str, str]
    paths: list[list[str]]  # [path, conversationId]


def start_unihub(
    backend: Backend, workers: int, hook: str, args: argparse.Namespace, tag: str
) -> Target:
    url = None
    if backend.url:
        url = asyncio.run(_fresh_pg_database(backend.url, args.pg_database))
    wrap = None
    if args.profile:
        report = Path(args.profile) / f"engine-{backend.key}-{tag}.txt"
        report.parent.mkdir(parents=True, exist_ok=True)
        wrap = ["-m", "pyinstrument", "-r", "text", "-o", str(report)]
    extra = {"UNIHUB_SQLITE_SYNCHRONOUS": backend.synchronous}
    server = servers.start_unihub(url, workers, "unihub", extra, wrap)
    try:
        creds = server.bootstrap_credentials()
        settings = Settings(
            data_dir=server.data_dir, database_url=url, secret_key=servers.SECRET_KEY
        )
        with httpx.Client(base_url=server.url, timeout=60) as http:

            def bearer(client: dict[str, str]) -> dict[str, str]:
                form = {
                    "grant_type": "client_credentials",
                    "client_id": client["clientId"],
                    "client_secret": client["clientSecret"],
                }
                r = http.post("/connect/token", data=form)
                r.raise_for_status()
                return {"Authorization": f"Bearer {r.json()['access_token']}"}

            portal = bearer(creds["clients"]["portal"])
            engine = bearer(creds["clients"]["engine"])
            r = http.post(
                "/api/v1/hubs", headers=portal, json={"name": "bench", "description": "bench"}
            )
            r.raise_for_status()
            hub = r.json()["hubId"]
            ids = asyncio.run(_add_integrations(settings, creds["tenantId"], hub, hook))
            paths = []
            for n in range(args.conversations):
                r = http.post(
                    "/api/v1/conversations/establish",
                    headers=engine,
                    json={"integrationId": ids[0], "binding": f"b{n}", "channelType": "Direct"},
                )
                r.raise_for_status()
                cid = r.json()["conversationId"]
                paths.append([f"/inbound/customer/v1/direct/activity/{cid}", cid])
    except BaseException:
        server.stop()
        raise
    return Target(server, engine, paths)


def start_ceiling(backend: Backend, hook: str, args: argparse.Namespace) -> Target:
    key = uuid.uuid4().hex
    env = {
        "ENGINE_CEILING_TOKEN_KEY": key,
        "ENGINE_CEILING_WEBHOOK": hook,
        "ENGINE_CEILING_SIGNING_KEY": new_signing_key_hex(),
        "ENGINE_CEILING_SQLITE_SYNCHRONOUS": backend.synchronous,
    }
    if backend.url:
        env["ENGINE_CEILING_DATABASE"] = asyncio.run(
            _fresh_pg_database(backend.url, args.pg_database.replace("bench", "ceiling"))
        )
    server = servers.start_engine_ceiling(env)
    headers = {"Authorization": f"Bearer {ceiling_token(key, 'engine')}"}
    paths = []
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for _ in range(args.conversations):
                cid = str(uuid.uuid4())
                http.post(f"/conversations/{cid}", headers=headers).raise_for_status()
                paths.append([f"/activity/{cid}", cid])
    except BaseException:
        server.stop()
        raise
    return Target(server, headers, paths)


# --------------------------------------------------------------------------------- phases


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def phase(
    name: str,
    job: dict[str, Any],
    target: Target,
    load: LoadGenerator,
    receiver: ReceiverClient,
    meter: Meter,
) -> dict[str, Any]:
    receiver.take()  # start afresh (strays of setup: conversation events)
    job = {**job, "base": target.server.url, "headers": target.headers, "targets": target.paths}
    began = meter.start()
    result = load.run(job)
    cpu = meter.stop(began)  # while posting: where a saturated load generator would show
    sent: dict[str, float] = result["sent"]
    record = receiver.drain(sent)
    arrivals: dict[str, float] = record["arrivals"]
    latencies = sorted((arrivals[k] - t) * 1000 for k, t in sent.items() if k in arrivals)
    first = min(sent.values(), default=0.0)
    last = max((arrivals[k] for k in sent if k in arrivals), default=first)
    return {
        "phase": name,
        "sent": len(sent),
        "errors": result["errors"],
        "accepted_per_s": len(sent) / result["elapsed"] if result["elapsed"] else 0.0,
        "delivered": len(latencies),
        "delivered_per_s": len(latencies) / (last - first) if last > first else 0.0,
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": _pct(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "loadgen_late_p99_ms": result["late_ms"],
        "duplicates": record["duplicates"],
        "order_violations": record["order_violations"],
        "unsigned": record["unsigned"],
        "cpu": cpu,
    }


def measure(
    kind: str,
    backend: Backend,
    args: argparse.Namespace,
    load: LoadGenerator,
    receiver: ReceiverClient,
    pg_pid: int | None,
    workers: int = 1,
) -> dict[str, Any]:
    tag = kind if workers == 1 else f"{kind}-{workers}"
    if kind == "unihub":
        target = start_unihub(backend, workers, receiver.hook, args, tag)
    else:
        target = start_ceiling(backend, receiver.hook, args)
    pids = {
        "load": load.proc.pid,
        "receiver": receiver.server.proc.pid,
        "server": target.server.proc.pid,
    }
    if pg_pid:
        pids["postgres"] = pg_pid
    pids["bench"] = os.getpid()
    meter = Meter(pids)
    jobs: list[tuple[str, dict[str, Any]]] = [
        (
            "saturation",
            {"mode": "saturate", "n": args.activities, "concurrency": args.concurrency},
        )
    ]
    if workers == 1:
        for rate, n in ((args.rate, args.rate_activities), (args.rate2, args.rate2_activities)):
            if rate > 0 and n > 0:
                jobs.append((f"{rate:g}/s", {"mode": "rate", "rate": rate, "n": n}))
    out: dict[str, Any] = {"target": tag, "backend": backend.key, "phases": {}}
    try:
        first = 0
        for name, job in jobs:
            out["phases"][name] = phase(
                name, {**job, "first": first}, target, load, receiver, meter
            )
            first += int(job["n"])
            p = out["phases"][name]
            print(
                f"  {backend.label:<16} {tag:<9} {name:<10} accepted/s {p['accepted_per_s']:7.0f}"
                f"  delivered {p['delivered']}/{p['sent']}  p50 {p['p50_ms']:8.1f} ms"
                f"  p99 {p['p99_ms']:8.1f} ms  order violations {p['order_violations']}"
                f"  cpu " + " ".join(f"{k} {v:.0f}%" for k, v in p["cpu"].items()),
                file=sys.stderr,
                flush=True,
            )
    finally:
        target.server.stop()
    return out


# --------------------------------------------------------------------------------- report


def _spread(values: list[float], fmt: str) -> str:
    values = [v for v in values if v == v]  # drop NaN
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return format(med, fmt)
    return f"{format(med, fmt)} ({format(min(values), fmt)}–{format(max(values), fmt)})"


FIGURES = (  # (phase, field, label, format)
    ("saturation", "accepted_per_s", "accepted/s under saturation", ",.0f"),
    ("saturation", "delivered_per_s", "delivered/s under saturation", ",.0f"),
    ("saturation", "p50_ms", "saturated post → webhook p50 (ms)", ".1f"),
    ("saturation", "p99_ms", "saturated post → webhook p99 (ms)", ".1f"),
)


def _figures(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    out = list(FIGURES)
    for rate in (args.rate, args.rate2):
        if rate > 0:
            out += [
                (f"{rate:g}/s", "p50_ms", f"at {rate:g}/s post → webhook p50 (ms)", ".1f"),
                (f"{rate:g}/s", "p99_ms", f"at {rate:g}/s post → webhook p99 (ms)", ".1f"),
            ]
    return out


def report(
    results: list[dict[str, Any]],
    backends: list[Backend],
    facts: dict[str, Any],
    loads: list[tuple[str, str]],
    args: argparse.Namespace,
    began: str,
) -> str:
    runs = max((r["run"] for r in results), default=0) + 1
    lines = [
        f"### Engine run ({began}, {runs} run(s), {'median (min–max)' if runs > 1 else 'one run'})",
        "",
        f"- machine: {os.cpu_count()} CPUs; load generator, receiver, servers and PostgreSQL "
        "share them",
    ]
    for n, (start, end) in enumerate(loads):
        lines.append(f"- run {n + 1}: {start} at the start, {end} at the end")
    if facts:
        lines.append(
            f"- PostgreSQL {facts.get('server_version')}: fsync={facts.get('fsync')}, "
            f"synchronous_commit={facts.get('synchronous_commit')}, "
            f"full_page_writes={facts.get('full_page_writes')}"
        )
    lines += [
        "- SQLite: WAL; `synchronous` as named per backend (unihub: "
        "`UNIHUB_SQLITE_SYNCHRONOUS`; the ceiling: the same pragma)",
        f"- {args.conversations} conversations, one Agent webhook; saturation: "
        f"{args.concurrency} clients × {args.activities} activities; fixed rates: "
        f"{args.rate:g}/s × {args.rate_activities}, {args.rate2:g}/s × {args.rate2_activities}",
        "",
    ]

    def series(backend: str, target: str, ph: str, fld: str) -> list[float]:
        return [
            float(r["phases"][ph][fld])
            for r in results
            if r["backend"] == backend and r["target"] == target and ph in r["phases"]
        ]

    for b in backends:
        lines += [
            f"#### {b.label}",
            "",
            "| figure | unihub | ceiling | unihub / ceiling |",
            "|---|---:|---:|---:|",
        ]
        for ph, fld, label, fmt in _figures(args):
            u, c = series(b.key, "unihub", ph, fld), series(b.key, "ceiling", ph, fld)
            ratios = [x / y for x, y in zip(u, c, strict=False) if y]
            rfmt = ".3f" if fld.endswith("per_s") else ".1f"
            lines.append(
                f"| {label} | {_spread(u, fmt)} | {_spread(c, fmt)} | {_spread(ratios, rfmt)} |"
            )
        for target in ("unihub", "ceiling"):
            sent = delivered = errors = disorder = dups = 0
            for r in results:
                if r["backend"] == b.key and r["target"] == target:
                    for p in r["phases"].values():
                        sent += p["sent"]
                        delivered += p["delivered"]
                        errors += p["errors"]
                        disorder += p["order_violations"]
                        dups += p["duplicates"]
            lines.append(
                f"| {target}: delivered / accepted, errors, order violations, duplicates "
                f"| {delivered}/{sent}, {errors}, {disorder}, {dups} | | |"
            )
        if b.is_pg:
            one = series(b.key, "unihub", "saturation", "accepted_per_s")
            two = series(b.key, "unihub-2", "saturation", "accepted_per_s")
            if two:
                ratios = [x / y for x, y in zip(two, one, strict=False) if y]
                ceil = series(b.key, "ceiling", "saturation", "accepted_per_s")
                vs_ceiling = [x / y for x, y in zip(two, ceil, strict=False) if y]
                disorder = sum(
                    p["order_violations"]
                    for r in results
                    if r["backend"] == b.key and r["target"] == "unihub-2"
                    for p in r["phases"].values()
                )
                lines.append(
                    f"| unihub, 2 processes: accepted/s under saturation | {_spread(two, ',.0f')}"
                    f" | | {_spread(vs_ceiling, '.3f')} |"
                )
                lines.append(
                    f"| 2 processes / 1 process (order violations: {disorder}) "
                    f"| {_spread(ratios, '.2f')}× | | |"
                )
        lines += [
            "",
            f"CPU while posting, % of one core ({os.cpu_count()} cores: "
            f"{100 * (os.cpu_count() or 1)}% in all; other: the rest of the machine):",
            "",
        ]
        procs = ["load", "receiver", "server"] + (["postgres"] if b.is_pg else [])
        procs += ["bench", "other"]
        lines += [
            "| target | phase | " + " | ".join(procs) + " |",
            "|---|---|" + "---:|" * len(procs),
        ]
        targets = ["unihub", "ceiling"] + (["unihub-2"] if b.is_pg else [])
        for target in targets:
            phases: list[str] = []
            for r in results:
                if r["backend"] == b.key and r["target"] == target:
                    phases += [p for p in r["phases"] if p not in phases]
            for ph in phases:
                cells = []
                for proc in procs:
                    vals = [
                        r["phases"][ph]["cpu"].get(proc, float("nan"))
                        for r in results
                        if r["backend"] == b.key and r["target"] == target and ph in r["phases"]
                    ]
                    cells.append(_spread(vals, ".0f"))
                lines.append(f"| {target} | {ph} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- main


def backends_from(args: argparse.Namespace) -> list[Backend]:
    wanted = [b.strip().lower() for b in args.backends.split(",") if b.strip()]
    out = []
    for key in wanted:
        if key in ("sqlite", "sqlite-normal"):
            out.append(Backend("sqlite", "SQLite NORMAL", None, "NORMAL"))
        elif key == "sqlite-full":
            out.append(Backend("sqlite-full", "SQLite FULL", None, "FULL"))
        elif key == "postgresql":
            admin = os.environ.get("UNIHUB_PG_ADMIN_URL")
            if admin:
                out.append(Backend("postgresql", "PostgreSQL", admin))
            else:
                print("PostgreSQL skipped: UNIHUB_PG_ADMIN_URL is not set", file=sys.stderr)
        else:
            raise SystemExit(f"unknown backend {key!r}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--activities", type=int, default=2000, help="saturation phase")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100.0, help="first fixed rate, per s")
    parser.add_argument("--rate-activities", type=int, default=1000)
    parser.add_argument("--rate2", type=float, default=500.0, help="second fixed rate, per s")
    parser.add_argument("--rate2-activities", type=int, default=2500)
    parser.add_argument("--backends", default="sqlite,sqlite-full,postgresql")
    parser.add_argument("--runs", type=int, default=1, help="repeat everything, interleaved")
    parser.add_argument("--pg-database", default="unihub_engine_bench")
    parser.add_argument(
        "--no-pg-workers", action="store_true", help="skip unihub --workers 2 on PostgreSQL"
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="run unihub under pyinstrument; text reports here"
    )
    parser.add_argument(
        "--json", default=str(ROOT / "bench" / "results" / "engine.json"), help="raw results"
    )
    args = parser.parse_args()
    backends = backends_from(args)
    began = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts: dict[str, Any] = {}
    pg = next((b for b in backends if b.is_pg), None)
    if pg and pg.url:
        facts = asyncio.run(_pg_facts(pg.url))
        durable = facts["fsync"] == "on" and facts["synchronous_commit"] == "on"
        print(
            f"PostgreSQL: fsync={facts['fsync']} synchronous_commit="
            f"{facts['synchronous_commit']}" + ("" if durable else "  (NOT durable commits)"),
            file=sys.stderr,
        )
    receiver_server = servers.start_receiver()
    receiver = ReceiverClient(receiver_server)
    load = LoadGenerator()
    results: list[dict[str, Any]] = []
    loads: list[tuple[str, str]] = []
    try:
        for run in range(args.runs):
            start = load_line()
            print(f"run {run + 1}/{args.runs}: machine {start}", file=sys.stderr, flush=True)
            for b in backends:
                pg_pid = facts.get("postmaster_pid") if b.is_pg else None
                order = ["unihub", "ceiling"] if run % 2 == 0 else ["ceiling", "unihub"]
                for kind in order:
                    r = measure(kind, b, args, load, receiver, pg_pid)
                    results.append({**r, "run": run})
                if b.is_pg and not args.no_pg_workers:
                    r = measure("unihub", b, args, load, receiver, pg_pid, workers=2)
                    results.append({**r, "run": run})
            end = load_line()
            print(f"run {run + 1}/{args.runs}: machine {end}", file=sys.stderr, flush=True)
            loads.append((start, end))
    finally:
        load.stop()
        receiver.http.close()
        receiver_server.stop()
    text = report(results, backends, facts, loads, args, began)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_bytes(
            orjson.dumps(
                {"began": began, "facts": facts, "loads": loads, "results": results},
                option=orjson.OPT_INDENT_2,
            )
        )
    print(text)


if __name__ == "__main__":
    main()
