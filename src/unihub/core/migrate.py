"""Schema migrations, shipped inside the package so any working directory works.

Every change of the schema (`upgrade`, `downgrade`) runs under one cross-process lock, so
processes starting together (several `unihub serve`, a compose `migrate` service beside
them) never race: the first migrates, the others wait and then find nothing to do.
- PostgreSQL: a session-level advisory lock taken on the very connection Alembic migrates
  with, released when the work ends (or when the connection goes, a crash included);
- SQLite (one host by nature): `flock` on `<database file>.migrate.lock` beside the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from unihub.core.config import Settings
from unihub.core.engines import make_engine, sqlite_file

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# PostgreSQL's two-key advisory locks: "unih" (as delivery/owners.py's lease owners) and
# "migr", a second key no lease owner's uses.
PG_LOCK = (0x756E6968, 0x6D696772)

T = TypeVar("T")


class SchemaError(Exception):
    """The schema cannot be brought where it was asked to go; the message says why."""


class InvalidTarget(SchemaError):
    """The revision asked for does not exist, or is not where the command can go."""


@dataclass(frozen=True)
class Revision:
    id: str
    title: str


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: no schema yet
    head: str
    chain: tuple[Revision, ...]  # base first

    @property
    def known(self) -> bool:
        return self.current is None or any(r.id == self.current for r in self.chain)

    @property
    def pending(self) -> list[str]:
        """Revisions still to apply (all of them on an empty database)."""
        ids = [r.id for r in self.chain]
        if self.current is None:
            return ids
        if self.current not in ids:
            return []
        return ids[ids.index(self.current) + 1 :]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def revisions() -> tuple[Revision, ...]:
    """The migration chain, base first (one line of history each)."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    chain = [
        Revision(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "")
        for r in script.walk_revisions()
    ]
    return tuple(reversed(chain))


def head() -> str:
    return revisions()[-1].id


@contextlib.contextmanager
def _sqlite_lock(url: str) -> Iterator[None]:
    path = sqlite_file(url)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits for the process migrating now
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


async def _on_locked_connection(url: str, work: Callable[[Connection], T]) -> T:
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    try:
        async with engine.connect() as conn:
            if postgres:
                await conn.execute(text("SELECT pg_advisory_lock(:a, :b)"), _lock_params())
                await conn.commit()
            try:
                result = await conn.run_sync(work)
                await conn.commit()
            finally:
                if postgres and not conn.closed and not conn.invalidated:
                    # A failed unlock is harmless: the lock goes with the connection (below).
                    with contextlib.suppress(Exception):
                        await conn.rollback()
                        await conn.execute(
                            text("SELECT pg_advisory_unlock(:a, :b)"), _lock_params()
                        )
                        await conn.commit()
            return result
    finally:
        await engine.dispose()


def _lock_params() -> dict[str, int]:
    return {"a": PG_LOCK[0], "b": PG_LOCK[1]}


def _in_thread(fn: Callable[[], T]) -> T:
    """Run `fn` on a thread of its own: it runs an event loop, which is then legal even when
    the caller's thread already runs one."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(fn())
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    t = threading.Thread(target=run, name="unihub-migrate")
    t.start()
    t.join()
    if errors:
        raise errors[0]
    return results[0]


def _locked(settings: Settings, work: Callable[[Connection], T]) -> T:
    if settings.is_sqlite:
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url

    def run() -> T:
        with _sqlite_lock(url):
            return asyncio.run(_on_locked_connection(url, work))

    return _in_thread(run)


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _read_revision(conn: Connection) -> str | None:
    """The current revision, ending the read's transaction: Alembic then begins its own, as
    it does on a connection of its own (the PostgreSQL lock is the session's, it stays)."""
    found = current_revision(conn)
    conn.commit()
    return found


def check_known(current: str | None, chain: tuple[Revision, ...]) -> None:
    """Refuse a schema this release does not know: a newer release migrated it."""
    if current is not None and all(r.id != current for r in chain):
        raise SchemaError(
            f"the database's schema is at revision {current}, which this release of unihub "
            f"does not know (its newest is {chain[-1].id}): a newer unihub migrated it"
        )


def _alembic(conn: Connection, url: str, step: Callable[[Config], None]) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = conn  # env.py migrates on it: the locked connection
    step(cfg)


def upgrade(settings: Settings) -> tuple[str | None, str]:
    """Apply pending migrations under the lock (idempotent); (revision before, after).

    Safe to call from inside a running event loop."""
    url = settings.resolved_database_url
    chain = revisions()

    def work(conn: Connection) -> tuple[str | None, str]:
        before = _read_revision(conn)
        check_known(before, chain)
        if before != chain[-1].id:
            _alembic(conn, url, lambda cfg: command.upgrade(cfg, "head"))
        return before, chain[-1].id

    return _locked(settings, work)


def downgrade(settings: Settings, target: str) -> tuple[str | None, str | None]:
    """Go back to revision `target` ("base": no schema at all) under the lock; (before,
    after). Refuses a target that is unknown or not below the current revision."""
    url = settings.resolved_database_url
    chain = revisions()
    ids = [r.id for r in chain]
    if target != "base" and target not in ids:
        raise InvalidTarget(
            f"unknown revision {target!r}: one of {', '.join(ids)} or 'base' "
            "(`unihub db history` lists them)"
        )

    def work(conn: Connection) -> tuple[str | None, str | None]:
        before = _read_revision(conn)
        check_known(before, chain)
        if before is None:
            raise SchemaError("the database has no schema: there is nothing to downgrade")
        position = -1 if target == "base" else ids.index(target)
        if position > ids.index(before):
            raise InvalidTarget(
                f"revision {target} is newer than the database's {before}: "
                "`unihub db upgrade` moves forward"
            )
        if position < ids.index(before):
            _alembic(conn, url, lambda cfg: command.downgrade(cfg, target))
        return before, None if target == "base" else target

    return _locked(settings, work)


def schema_state(settings: Settings) -> SchemaState:
    """Where the schema is (without changing anything: no lock, no new file)."""
    url = settings.resolved_database_url
    chain = revisions()
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return SchemaState(None, chain[-1].id, chain)

    async def read() -> str | None:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(current_revision)
        finally:
            await engine.dispose()

    return SchemaState(_in_thread(lambda: asyncio.run(read())), chain[-1].id, chain)
