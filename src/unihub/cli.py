"""The `unihub` command. Commands that need the database apply pending migrations first."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from unihub.core.config import Settings, get_settings
from unihub.core.database import Database
from unihub.core.migrate import upgrade

app = typer.Typer(
    help="unihub: self-hostable Hubster-compatible messaging platform.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants and their API clients.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _ready(settings: Settings) -> Database:
    upgrade(settings)
    return Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)


async def _bootstrap(settings: Settings) -> dict[str, Any] | None:
    """On an empty database: a default tenant whose credentials are shown this once."""
    from unihub.tenants import repository, service

    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        async with db.write() as s:
            if await repository.any_tenant(s):
                return None
            return await service.create_tenant(s, "default")
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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (env UNIHUB_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env UNIHUB_PORT)")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Migrate, bootstrap an empty database, and serve the API."""
    import uvicorn

    settings = get_settings()
    upgrade(settings)
    creds = asyncio.run(_bootstrap(settings))
    if creds is not None:
        path = _write_bootstrap_file(settings, creds)
        sys.stdout.write(
            "Created the default tenant. Its credentials are shown only now "
            f"(also saved to {path}, mode 0600):\n"
        )
        _emit(creds)
    uvicorn.run(
        "unihub.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    upgrade(get_settings())
    typer.echo("database is up to date", err=True)


@tenants_app.command("create")
def tenants_create(name: Annotated[str, typer.Option(help="Tenant name")]) -> None:
    """Create a tenant; prints its id and both clients' first secrets as one JSON object."""
    from unihub.tenants import service

    name = name.strip()
    if not name or len(name) > 256:
        typer.echo("--name must be 1-256 characters", err=True)
        raise typer.Exit(2)

    async def run() -> dict[str, Any]:
        db = _ready(get_settings())
        try:
            async with db.write() as s:
                return await service.create_tenant(s, name)
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
        typer.echo(f"client '{client_id}' does not exist", err=True)
        raise typer.Exit(1)
    _emit(result)


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
    from pydantic import ValidationError
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    import unihub.models
    from unihub.core import rotation
    from unihub.core.security import SecretBox, secret_key_material

    try:
        settings = get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"invalid settings: {error['msg']}", err=True)
        raise typer.Exit(2) from None
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


if __name__ == "__main__":
    app()
