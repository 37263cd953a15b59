"""Who holds an outbox lease, and whether that process is still alive.

A worker claims rows under its own owner id, a fresh UUID per process start. Each process
proves it is alive by holding a lock that the operating system or PostgreSQL releases the
moment the process dies, SIGKILL included:
- PostgreSQL: a session-level advisory lock on a connection of its own (the server drops
  the lock when the connection goes; that happens when the process dies);
- SQLite (one machine by nature): `flock` on a file of its own next to the database.

So a restarted process, or any other live one, takes back a dead owner's leases at once
instead of waiting out the lease (30 s by default), and never takes those of a live owner:
its lock cannot be had. If a PostgreSQL owner loses its lock connection (a database
restart), it cannot tell whether another process took its leases meanwhile, so it claims
under a new id from then on; its in-flight sends still record their outcomes, and at worst a
row is sent twice (at least once, as always).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import uuid
from pathlib import Path
from typing import IO, Any, Protocol

from sqlalchemy.engine import make_url

log = logging.getLogger("unihub.delivery")

# The first key of PostgreSQL's two-key advisory locks: "unih" as an int4, so unihub's locks
# never meet another application's single-key ones.
_PG_LOCK_CLASS = 0x756E6968


def _pg_key(owner: uuid.UUID) -> int:
    # 32 bits of the id: a collision makes a dead owner look alive, which only delays.
    return int.from_bytes(owner.bytes[:4], "big", signed=True)


class LeaseOwners(Protocol):
    id: uuid.UUID

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ensure_alive(self) -> None:
        """Check our own lock still holds; if it was lost, take a new id and lock that."""

    async def is_dead(self, owner: uuid.UUID) -> bool:
        """True only when `owner` is certainly gone (its lock could be taken)."""


class PgOwners:
    def __init__(self, database_url: str) -> None:
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        self.id = uuid.uuid4()
        self._conn: Any = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            await self._connect()

    async def _connect(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn)
        try:
            await conn.execute("SELECT pg_advisory_lock($1, $2)", _PG_LOCK_CLASS, _pg_key(self.id))
        except BaseException:
            await conn.close(timeout=2)
            raise
        self._conn = conn

    async def stop(self) -> None:
        async with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close(timeout=2)
                self._conn = None

    async def ensure_alive(self) -> None:
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                try:
                    await self._conn.fetchval("SELECT 1", timeout=5)
                    return
                except Exception:  # noqa: S110 - lost: replaced below
                    pass
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.terminate()
                self._conn = None
                old, self.id = self.id, uuid.uuid4()
                log.warning("lease owner %s lost its database lock; claiming as %s", old, self.id)
            await self._connect()

    async def is_dead(self, owner: uuid.UUID) -> bool:
        async with self._lock:
            if self._conn is None or owner == self.id:
                return False
            key = _pg_key(owner)
            got = await self._conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", _PG_LOCK_CLASS, key
            )
            if got:
                await self._conn.execute("SELECT pg_advisory_unlock($1, $2)", _PG_LOCK_CLASS, key)
            return bool(got)


class FileOwners:
    """`flock` on `<database>.leases/<owner>.lock`: released by the kernel when we die."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.id = uuid.uuid4()
        self._file: IO[bytes] | None = None

    def _path(self, owner: uuid.UUID) -> Path:
        return self.dir / f"{owner}.lock"

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        # A local file opened once per process start; held (and locked) for the process's life.
        handle = open(self._path(self.id), "wb")  # noqa: SIM115, ASYNC230
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._file = handle

    async def stop(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._path(self.id).unlink()
            self._file.close()
            self._file = None

    async def ensure_alive(self) -> None:
        return None  # a lock held by an open file cannot be lost while we live

    async def is_dead(self, owner: uuid.UUID) -> bool:
        if owner == self.id:
            return False
        path = self._path(owner)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return True  # never locked, or removed by whoever found it dead first
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # also releases the lock we may have taken
        with contextlib.suppress(OSError):
            path.unlink()
        return True


def make_owners(database_url: str, data_dir: Path) -> LeaseOwners:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return PgOwners(database_url)
    database = (url.database or "").removeprefix("file:").split("?", 1)[0]
    if not database or database == ":memory:":
        return FileOwners(data_dir / "unihub.leases")
    path = Path(database)
    return FileOwners(path.with_name(path.name + ".leases"))
