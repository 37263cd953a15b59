"""`unihub doctor`: is this configuration fit to serve? One line per check on stdout.

`ok` fine, `warn` works but deserves a look, `FAIL` will not work (and why). The exit code is 1
when anything FAILs. Every check that goes over the network is bounded (a few seconds), so a
host that does not answer cannot hang it; nothing is created or changed (a SQLite file is
opened read-only, a missing one is not made, no secret key is generated).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from unihub.cli.errors import env_name, plain_reason, safe_url, settings_problems
from unihub.core.config import ENV_FILE_VARIABLE, Settings
from unihub.core.engines import sqlite_file
from unihub.core.migrate import SchemaState, current_revision, revisions
from unihub.core.security import SecretBox

CONNECT_TIMEOUT_S = 3.0
CHECK_TIMEOUT_S = 8.0
DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")


@dataclass
class Report:
    failed: bool = False

    def line(self, status: str, name: str, detail: str) -> None:
        self.failed |= status == "FAIL"
        typer.echo(f"{status:<5} {name}: {detail}")


@dataclass
class Found:
    """What the database check read, for the schema and secret key checks."""

    reachable: bool = False
    current: str | None = None
    signing_key: bytes | None = None  # one stored (encrypted) token signing key
    problem: str = ""
    no_file_yet: bool = False  # SQLite before the first start


def run_checks() -> int:
    report = Report()
    settings = _settings(report)
    if settings is None:
        report.line("FAIL", "database", "not checked: the settings are invalid")
        return 1
    asyncio.run(_checks(report, settings))
    return 1 if report.failed else 0


def _env_file() -> str:
    chosen = os.environ.get(ENV_FILE_VARIABLE)
    if chosen == "":
        return "no .env file read"
    path = Path(chosen or ".env")
    return f"{path.resolve()} read" if path.is_file() else "no .env file"


def _settings(report: Report) -> Settings | None:
    try:
        settings = Settings()
    except ValidationError as exc:
        report.line("FAIL", "settings", "; ".join(settings_problems(exc)))
        return None
    from limits import parse_many

    from unihub.middleware.ratelimit import rate_limit_enabled

    problems = []
    specs = {
        "rate_limit": settings.rate_limit,
        "token_peer_limit": settings.token_peer_limit,
        "token_failure_limit": settings.token_failure_limit,
    }
    if rate_limit_enabled(settings.rate_limit):
        for name, spec in specs.items():
            try:
                parse_many(spec)
            except ValueError:
                problems.append(
                    f"{env_name(name)}={spec!r}: not a rate in the limits notation "
                    "(e.g. 100/second, 20/minute; UNIHUB_RATE_LIMIT=off disables)"
                )
    if not 1 <= settings.port <= 65535:
        problems.append(f"UNIHUB_PORT={settings.port}: not a TCP port (1-65535)")
    try:
        driver = make_url(settings.resolved_database_url).drivername
    except ArgumentError:
        problems.append("UNIHUB_DATABASE_URL is not a database URL")
    else:
        if driver not in DRIVERS:
            problems.append(
                f"UNIHUB_DATABASE_URL uses {driver}://; unihub needs postgresql+asyncpg:// "
                "(or sqlite+aiosqlite://)"
            )
    if problems:
        report.line("FAIL", "settings", "; ".join(problems))
        return None
    report.line("ok", "settings", f"valid ({_env_file()})")
    return settings


async def _bounded(coro: Any, what: str) -> Any:
    try:
        return await asyncio.wait_for(coro, CHECK_TIMEOUT_S)
    except TimeoutError:
        raise TimeoutError(f"{what} did not answer within {CHECK_TIMEOUT_S:g} s") from None


async def _checks(report: Report, settings: Settings) -> None:
    found = await _database(report, settings)
    _schema(report, found)
    _secret_key(report, settings, found)
    await _redis(report, settings)
    await _public_url(report, settings)


# --------------------------------------------------------------------------- database


async def _read(conn: AsyncConnection, found: Found) -> None:
    found.reachable = True
    found.current = await conn.run_sync(current_revision)
    if found.current is not None:
        row = (
            await conn.execute(
                text("SELECT private_key FROM signing_keys ORDER BY created LIMIT 1")
            )
        ).first()
        found.signing_key = bytes(row[0]) if row is not None else None


async def _database(report: Report, settings: Settings) -> Found:
    found = Found()
    url = make_url(settings.resolved_database_url)
    shown = safe_url(settings.resolved_database_url)
    if url.drivername.startswith("sqlite"):
        path = sqlite_file(settings.resolved_database_url)
        if path is not None and not path.exists():
            parent = next((p for p in path.parents if p.exists()), None)
            if parent is None or not os.access(parent, os.W_OK):
                found.problem = f"{path} does not exist and cannot be created here"
                report.line("FAIL", "database", found.problem)
            else:
                found.no_file_yet = True
                report.line(
                    "warn", "database", f"no database yet at {path}: `unihub serve` or "
                    "`unihub db upgrade` creates it"
                )  # fmt: skip
            return found
        # Read-only: the doctor never creates or changes the file.
        url = url.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
        engine = create_async_engine(url, poolclass=NullPool)
    else:
        engine = create_async_engine(
            url, poolclass=NullPool, connect_args={"timeout": CONNECT_TIMEOUT_S}
        )
    try:

        async def read() -> str:
            async with engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    version = (await conn.execute(text("SHOW server_version"))).scalar_one()
                    detail = f"PostgreSQL {str(version).split()[0]} answers at {shown}"
                else:
                    detail = f"SQLite file {path}"
                await _read(conn, found)
                return detail

        detail = await _bounded(read(), "the database")
    except Exception as exc:
        found.problem = plain_reason(exc)
        report.line("FAIL", "database", f"cannot use {shown}: {found.problem}")
        return found
    finally:
        await engine.dispose()
    report.line("ok", "database", detail)
    return found


def _schema(report: Report, found: Found) -> None:
    chain = revisions()
    state = SchemaState(found.current, chain[-1].id, chain)
    if not found.reachable:
        status = "warn" if found.no_file_yet else "FAIL"
        reason = "no schema yet" if status == "warn" else "not checked: no database"
        report.line(status, "schema", reason)
    elif not state.known:
        report.line(
            "FAIL", "schema", f"at revision {state.current}, which this release does not know "
            f"(its newest is {state.head}): a newer unihub migrated this database"
        )  # fmt: skip
    elif state.current is None:
        report.line(
            "warn", "schema", f"empty: {len(state.pending)} migrations to apply "
            "(`unihub serve` applies them at start, or `unihub db upgrade`)"
        )  # fmt: skip
    elif state.pending:
        report.line(
            "warn", "schema", f"at revision {state.current}, {len(state.pending)} pending "
            f"({', '.join(state.pending)}): run `unihub db upgrade` (`serve --no-migrate` "
            "refuses to start until then)"
        )  # fmt: skip
    else:
        report.line("ok", "schema", f"at revision {state.current} (this release's newest)")


# --------------------------------------------------------------------------- secret key


def _secret_key(report: Report, settings: Settings, found: Found) -> None:
    name = "secret key"
    postgres = not settings.is_sqlite
    configured = settings.secret_keys_in_order
    material: str | tuple[str, ...]
    if configured:
        material = configured
        source = (
            f"UNIHUB_SECRET_KEYS ({len(configured)} keys)"
            if settings.secret_keys
            else "UNIHUB_SECRET_KEY"
        )
    else:
        path = Path(settings.data_dir) / "secret.key"
        if not path.is_file():
            if found.signing_key is not None:
                report.line(
                    "FAIL", name, f"UNIHUB_SECRET_KEY is unset and {path} does not exist, but "
                    "the database holds data encrypted with a key: set the key it was "
                    "written with"
                )  # fmt: skip
            else:
                shared = " (several processes need one UNIHUB_SECRET_KEY)" if postgres else ""
                report.line(
                    "warn", name, f"UNIHUB_SECRET_KEY is unset: the first start generates one "
                    f"into {path}{shared}"
                )  # fmt: skip
            return
        try:
            material, source = path.read_text().strip(), f"the generated {path}"
        except OSError as exc:
            report.line("FAIL", name, f"cannot read {path}: {exc.strerror}")
            return
    warnings = []
    keys = (material,) if isinstance(material, str) else material
    if postgres and not configured:
        warnings.append(
            "UNIHUB_SECRET_KEY is unset: every process of a PostgreSQL deployment needs the "
            f"same key, set it to the value of {source.removeprefix('the generated ')}"
        )
    shortest = min(len(key) for key in keys)
    if shortest < 16:
        warnings.append(
            f"{source}: a key is only {shortest} characters: use long random ones "
            "(e.g. `openssl rand -base64 32`)"
        )
    if len(keys) > 1:
        warnings.append(
            f"{len(keys)} keys configured: once `unihub secrets rotate` has finished, drop "
            "the older ones (docs/deployment.md, Key rotation)"
        )
    if found.signing_key is not None:
        try:
            SecretBox(material).decrypt_bytes(found.signing_key)
        except ValueError:
            report.line(
                "FAIL", name, f"{source} does not decrypt the token signing keys stored in the "
                "database: no configured key is the one they were written with (every "
                "process needs the same UNIHUB_SECRET_KEY, or UNIHUB_SECRET_KEYS with it)"
            )  # fmt: skip
            return
        verified = "; it decrypts the stored signing keys"
    else:
        verified = "; nothing stored yet to check it against"
    if warnings:
        report.line("warn", name, "; ".join(warnings) + verified)
    else:
        report.line("ok", name, f"{source} is set{verified}")


# --------------------------------------------------------------------------- Redis


async def _redis(report: Report, settings: Settings) -> None:
    if not settings.redis_url:
        report.line(
            "ok", "redis", "not set: each process keeps its own rate-limit counters (several "
            "processes: set UNIHUB_REDIS_URL to share them)"
        )  # fmt: skip
        return
    import redis.asyncio as redis

    shown = safe_url(settings.redis_url)
    try:
        client = redis.from_url(
            settings.redis_url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=CONNECT_TIMEOUT_S,
        )
    except ValueError as exc:
        report.line("FAIL", "redis", f"UNIHUB_REDIS_URL is not a Redis URL: {exc}")
        return
    try:
        await _bounded(client.ping(), "Redis")
    except Exception as exc:
        report.line("FAIL", "redis", f"cannot reach {shown}: {plain_reason(exc)}")
        return
    finally:
        await client.aclose()
    report.line("ok", "redis", f"answers at {shown}")


# --------------------------------------------------------------------------- public URL


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _public_url(report: Report, settings: Settings) -> None:
    name = "public URL"
    if not settings.public_url:
        report.line(
            "warn", name, "UNIHUB_PUBLIC_URL is unset: providers' webhooks are checked "
            "against the URL each request arrived with, and Telegram bots poll; behind a "
            "proxy, set it to the address providers call (https://...)"
        )  # fmt: skip
        return
    value = settings.public_url.rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        report.line("FAIL", name, f"UNIHUB_PUBLIC_URL={value!r}: not an http(s) URL with a host")
        return
    if parts.query or parts.fragment:
        report.line("FAIL", name, f"UNIHUB_PUBLIC_URL={value!r}: must not carry a query")
        return
    warnings = []
    if parts.scheme == "http" and not _is_local(parts.hostname):
        warnings.append("plain http: providers (Telegram, Slack, Messenger) call https only")
    import httpx

    try:
        async with httpx.AsyncClient(timeout=CONNECT_TIMEOUT_S) as client:
            r = await _bounded(client.get(f"{value}/healthz"), value)
        answered = f"GET {value}/healthz answered {r.status_code}"
        if r.status_code != 200:
            warnings.append(f"{answered}, not 200: does it reach this unihub?")
    except Exception as exc:
        warnings.append(
            f"{value}/healthz does not answer ({plain_reason(exc)}): providers cannot "
            "reach unihub there (fine if it is not started yet)"
        )
    if warnings:
        report.line("warn", name, "; ".join(warnings))
    else:
        report.line("ok", name, answered)
