"""The `unihub` command. Commands that need the database apply pending migrations first.

stdout carries only what scripts read (JSON for tenants, one revision line for `db current`);
messages go to stderr. Mistakes an operator can make end with one plain line on stderr and a
non-zero exit (`cli.errors`): 2 for usage and settings, 1 for failures at run time.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import logging.config
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from unihub import __version__
from unihub.cli.errors import USAGE, OperatorError, explain, fail, safe_url
from unihub.core.config import Settings, get_settings
from unihub.core.database import Database
from unihub.core.logs import uvicorn_level, uvicorn_log_config
from unihub.core.migrate import check_known, downgrade, revisions, schema_state, upgrade


class _Cli(typer.Typer):
    """The app, with operator mistakes turned into one line on stderr (see `cli.errors`)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            explained = explain(exc, _loaded_settings())
            if explained is None:
                raise
            fail(*explained)


def _loaded_settings() -> Settings | None:
    try:
        return get_settings()
    except Exception:  # the settings themselves are what is wrong
        return None


app = _Cli(
    help="unihub: self-hostable Hubster-compatible messaging platform.",
    no_args_is_help=True,
    # A bug still shows its traceback, without local variables (they may hold secrets).
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants and their API clients.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")

log = logging.getLogger("unihub.serve")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"unihub {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """unihub: self-hostable Hubster-compatible messaging platform."""


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _ready(settings: Settings) -> Database:
    upgrade(settings)
    return Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)


async def _bootstrap(settings: Settings) -> dict[str, Any] | None:
    """On an empty database: a default tenant whose credentials are shown this once."""
    from unihub.tenants import service

    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        async with db.write() as s:
            return await service.bootstrap_tenant(s)
    finally:
        await db.dispose()


def _write_bootstrap_file(settings: Settings, creds: dict[str, Any]) -> Path:
    path = Path(settings.data_dir) / "bootstrap-credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh, indent=2)
    os.chmod(path, 0o600)
    return path


def _require_head(settings: Settings) -> str:
    """`serve --no-migrate`: the schema must already be this release's."""
    state = schema_state(settings)
    if state.current == state.head:
        return state.head
    check_known(state.current, state.chain)
    where = "has no schema" if state.current is None else f"is at revision {state.current}"
    raise OperatorError(
        f"the database {where}, this unihub needs {state.head}: run `unihub db upgrade` first "
        "(`serve --no-migrate` does not migrate)"
    )


def _listen_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _announce(message: str, **fields: object) -> None:
    """One INFO line whatever the log level: the operator always learns where we listen."""
    record = log.makeRecord(log.name, logging.INFO, __file__, 0, message, (), None)
    record.fields = fields
    log.handle(record)


class LogLevel(enum.StrEnum):
    """`--log-level`: the levels of `core.config.LOG_LEVELS`, any case."""

    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


def _can_listen(host: str, port: int) -> None:
    """Fail in plain words before announcing, rather than after (uvicorn binds later)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise OperatorError(
                f"cannot listen on {_listen_url(host, port)}: {reason[:1].lower()}{reason[1:]}"
            ) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (env UNIHUB_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env UNIHUB_PORT)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            case_sensitive=False, help="Log level (env UNIHUB_LOG_LEVEL)", show_default=False
        ),
    ] = None,
    proxy_headers: Annotated[
        bool | None,
        typer.Option(
            "--proxy-headers/--no-proxy-headers",
            help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips (env "
            "UNIHUB_PROXY_HEADERS)",
            show_default=False,
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies trusted with --proxy-headers: comma-separated IPs or networks, '*' "
            "for any (env UNIHUB_FORWARDED_ALLOW_IPS, default 127.0.0.1)",
            show_default=False,
        ),
    ] = None,
    no_migrate: Annotated[
        bool,
        typer.Option(
            "--no-migrate",
            help="Do not apply migrations: refuse to start unless the schema is current "
            "(`unihub db upgrade` migrates)",
        ),
    ] = False,
) -> None:
    """Migrate (under a lock), bootstrap an empty database, and serve the API."""
    import uvicorn

    if log_level is not None:
        # The app reads its settings again in each worker process: the environment carries it.
        os.environ["UNIHUB_LOG_LEVEL"] = log_level.value.upper()
        get_settings.cache_clear()
    settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    _can_listen(bind_host, bind_port)
    log_config = uvicorn_log_config(settings.log_level)
    logging.config.dictConfig(log_config)
    if no_migrate:
        schema = _require_head(settings)
    else:
        before, schema = upgrade(settings)
        if before != schema:
            log.info("database schema upgraded from %s to %s", before or "nothing", schema)
    creds = asyncio.run(_bootstrap(settings))
    if creds is not None:
        path = _write_bootstrap_file(settings, creds)
        sys.stdout.write(
            "Created the default tenant. Its credentials are shown only now "
            f"(also saved to {path}, mode 0600):\n"
        )
        _emit(creds)
    trust_proxy = settings.proxy_headers if proxy_headers is None else proxy_headers
    trusted = forwarded_allow_ips or settings.forwarded_allow_ips
    url, database = _listen_url(bind_host, bind_port), safe_url(settings.resolved_database_url)
    proxies = f", trusting X-Forwarded-* from {trusted}" if trust_proxy else ""
    _announce(
        f"unihub {__version__} listening on {url} with database {database} "
        f"(schema {schema}), {workers} worker{'s' if workers > 1 else ''}{proxies}",
        listen=url,
        database=database,
        schema=schema,
        workers=workers,
        proxyHeaders=trust_proxy,
    )
    uvicorn.run(
        "unihub.app:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_config=log_config,
        log_level=uvicorn_level(settings.log_level).lower(),
        access_log=False,  # the app's own access log (JSON, with the request id)
        proxy_headers=trust_proxy,
        forwarded_allow_ips=trusted,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (under a lock: safe while other processes start)."""
    before, after = upgrade(get_settings())
    if before == after:
        _say(f"database is up to date (revision {after})")
    elif before is None:
        _say(f"database schema created (revision {after})")
    else:
        _say(f"database upgraded from revision {before} to {after}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision (stdout), and whether migrations are pending."""
    state = schema_state(get_settings())
    if not state.known:
        typer.echo(f"{state.current} (unknown to this release, whose newest is {state.head})")
        raise typer.Exit(1)
    pending = state.pending
    if state.current is None:
        typer.echo(f"none (no schema yet; {len(pending)} migrations pending)")
    elif not pending:
        typer.echo(f"{state.current} (head)")
    else:
        typer.echo(f"{state.current} ({len(pending)} pending: {', '.join(pending)})")


@db_app.command("history")
def db_history() -> None:
    """List the migrations, oldest first, marking the database's current one."""
    settings = get_settings()
    try:
        current: str | None = schema_state(settings).current
    except Exception as exc:
        explained = explain(exc, settings)
        if explained is None:
            raise
        _say(f"unihub: {explained[0]} (the current revision is not marked)")
        current = ""
    chain = revisions()
    for rev in chain:
        marks = [
            mark for mark, on in (("current", rev.id == current), ("head", rev is chain[-1])) if on
        ]
        typer.echo(f"{rev.id}  {rev.title}" + (f" ({', '.join(marks)})" if marks else ""))


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Revision to go back to, or 'base'")],
) -> None:
    """Revert migrations down to REVISION (under the lock). Stop every server first: older
    code serves the older schema; what newer migrations added is dropped."""
    before, after = downgrade(get_settings(), revision)
    if before == after:
        _say(f"database is already at revision {after}")
    else:
        _say(f"database downgraded from revision {before} to {after or 'base (no schema)'}")


@tenants_app.command("create")
def tenants_create(name: Annotated[str, typer.Option(help="Tenant name")]) -> None:
    """Create a tenant; prints its id and both clients' first secrets as one JSON object."""
    from unihub.tenants import service

    name = name.strip()
    if not name or len(name) > 256:
        _say("--name must be 1-256 characters")
        raise typer.Exit(USAGE)

    async def run() -> dict[str, Any]:
        db = _ready(get_settings())
        try:
            async with db.write() as s:
                return await service.create_tenant(s, name)
        finally:
            await db.dispose()

    _emit(asyncio.run(run()))


@tenants_app.command("list")
def tenants_list() -> None:
    """Print every tenant as one JSON array (id, name, createdAt, client ids; no secrets)."""
    from unihub.tenants import service

    async def run() -> list[dict[str, Any]]:
        db = _ready(get_settings())
        try:
            async with db.read() as s:
                return await service.list_tenants_cli(s)
        finally:
            await db.dispose()

    _emit(asyncio.run(run()))


@tenants_app.command("add-secret")
def tenants_add_secret(
    client_id: Annotated[str, typer.Option("--client-id", help="Client id")],
    name: Annotated[str, typer.Option(help="Secret name")] = "recovery",
) -> None:
    """Add a secret to a client (recovery when every secret is lost); prints it once as JSON."""
    from unihub.tenants import service

    async def run() -> dict[str, Any] | None:
        db = _ready(get_settings())
        try:
            async with db.write() as s:
                return await service.add_secret_cli(s, client_id, name)
        finally:
            await db.dispose()

    result = asyncio.run(run())
    if result is None:
        _say(f"client '{client_id}' does not exist")
        raise typer.Exit(1)
    _emit(result)


@app.command()
def doctor() -> None:
    """Check settings, database and schema, secret key, Redis and public URL; one line each
    (ok, warn, FAIL and why). Exit 1 if anything FAILs."""
    from unihub.cli.doctor import run_checks

    raise typer.Exit(run_checks())


secrets_app = typer.Typer(help="Secrets stored encrypted in the database.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("rotate")
def secrets_rotate(
    batch_size: Annotated[int, typer.Option(min=1, help="Values per transaction")] = 500,
    pause: Annotated[
        float, typer.Option(min=0.0, help="Seconds between batches, to spare a busy database")
    ] = 0.0,
) -> None:
    """Re-encrypt every stored secret with the newest key of UNIHUB_SECRET_KEYS.

    Resumable: values already under the newest key are skipped. Exits 1 when some value
    cannot be decrypted with any configured key (it is reported and left as it is).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    import unihub.models
    from unihub.core import rotation
    from unihub.core.security import SecretBox, secret_key_material

    settings = get_settings()
    box = SecretBox(secret_key_material(settings))
    columns = rotation.encrypted_columns(unihub.models.Base.metadata)
    err = Console(stderr=True)

    async def run() -> rotation.Report:
        db = _ready(settings)
        try:
            total = await rotation.count(db, columns)
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err,
            ) as progress:
                task = progress.add_task("re-encrypting", total=total)

                def advance(column: rotation.EncryptedColumn, n: int) -> None:
                    progress.update(task, advance=n, description=column.name)

                return await rotation.rotate(
                    db, box, columns, batch_size=batch_size, pause_s=pause, on_batch=advance
                )
        finally:
            await db.dispose()

    if box.key_count == 1:
        typer.echo("one key configured: checking that it decrypts every stored value", err=True)
    report = asyncio.run(run())
    for bad in report.undecryptable:
        typer.echo(f"undecryptable: {bad}", err=True)
    typer.echo(
        f"secrets rotate: {report.seen} encrypted values in {len(columns)} columns: "
        f"{report.rotated} re-encrypted, {report.current} already under the newest key, "
        f"{report.changed} changed meanwhile, {len(report.undecryptable)} undecryptable",
        err=True,
    )
    if report.changed:
        typer.echo("values changed while rotating: run it again to check them", err=True)
    if report.undecryptable:
        typer.echo(
            f"{len(report.undecryptable)} values could not be decrypted with any configured "
            "key and were left as they are: add the key they were encrypted with to "
            "UNIHUB_SECRET_KEYS (after the newest) and run again",
            err=True,
        )
        raise typer.Exit(1)
