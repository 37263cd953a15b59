"""SQLAlchemy engines for each backend, the inline SQLite engines of the hot paths included.

SQLite runs in WAL mode with foreign keys on and `synchronous` NORMAL (survives a process
crash, not a power cut) or FULL (`UNIHUB_SQLITE_SYNCHRONOUS`: survives both); write
transactions take the write lock up front (`BEGIN IMMEDIATE`) so concurrent writers queue on
`busy_timeout` instead of failing on a lock upgrade. PostgreSQL uses its defaults (READ
COMMITTED) and constraints for concurrency.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import SingletonThreadPool


def make_engine(url: str, *, sqlite_synchronous: str = "NORMAL", **kwargs: Any) -> AsyncEngine:
    """`sqlite_synchronous`: `PRAGMA synchronous` on SQLite (NORMAL or FULL, see
    `Settings.sqlite_synchronous`); ignored elsewhere."""
    if url.startswith("sqlite"):
        synchronous = _synchronous(sqlite_synchronous)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # 20 kept open, 10 more under bursts: with 10 kept, connections beyond them were opened
    # and closed continuously under load (18% of GET hub, profiled). At most 30 per process.
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "checkout")
    def _discard_closed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        # A server restart or idle timeout closes the socket, which asyncpg notices at once:
        # such a connection is replaced before use. SQLAlchemy's `pool_pre_ping` did this with
        # BEGIN, a query and ROLLBACK on every checkout (15% of GET hub, profiled). A database
        # that vanishes without closing the socket fails the statement; the error invalidates
        # the pool and answers 503 (see `middleware.faults`).
        if dbapi_conn.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")

    return engine


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite `url`; None for other backends and in-memory databases."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if parsed.database in (None, "", ":memory:") or "memory" in str(parsed.query):
        return None
    return Path(parsed.database)


def _inline_sqlite_engine(url: str) -> Engine | None:
    """A synchronous pysqlite engine on the file of a SQLite `url`; None for other backends
    and in-memory databases (not shared between engines)."""
    if sqlite_file(url) is None:
        return None
    parsed = make_url(url)
    return create_engine(
        parsed.set(drivername="sqlite+pysqlite"), poolclass=SingletonThreadPool, pool_size=8
    )


def make_inline_reader(url: str) -> Engine | None:
    """A synchronous, read-only engine on the same SQLite file, for `Database.fetch`.

    aiosqlite runs every call on a helper thread; a point read costs a few microseconds in
    SQLite but each of the ~9 thread round trips of a session costs far more (profiled: the
    event loop sat idle waiting for them). WAL readers never wait for writers, so short reads
    run inline on the event loop. None for in-memory databases (not shared between engines).
    """
    engine = _inline_sqlite_engine(url)
    if engine is None:
        return None

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only=ON")  # this engine must never write
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if not conn.get_execution_options().get("single_statement", False):
            conn.exec_driver_sql("BEGIN")  # a read snapshot over all statements of one fetch

    return engine


def make_inline_writer(url: str, sqlite_synchronous: str = "NORMAL") -> Engine | None:
    """A synchronous engine on the same SQLite file for `Database.transact`'s fast path.

    Every statement through aiosqlite is several thread round trips; a whole hub insert in WAL
    mode takes tens of microseconds inline. `busy_timeout=0`: when another process holds the
    write lock, `transact` falls back to the threaded engine (which may wait) instead of
    blocking the event loop.
    """
    synchronous = _synchronous(sqlite_synchronous)
    engine = _inline_sqlite_engine(url)
    if engine is None:
        return None

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _synchronous(value: str) -> str:
    """The pragma's value, checked: it is interpolated into the statement."""
    value = value.strip().upper()
    if value not in ("NORMAL", "FULL"):
        raise ValueError(f"SQLite synchronous must be NORMAL or FULL, not {value!r}")
    return value


def is_busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
