"""Engine, sessions and column types shared by every domain.

SQLite runs in WAL mode with foreign keys on; write transactions take the write lock up front
(`BEGIN IMMEDIATE`) so concurrent writers queue on `busy_timeout` instead of failing on a lock
upgrade. Within one process they first queue on an asyncio lock: SQLite admits one writer at a
time anyway, and its busy handler waits by sleeping (1, 2, 5, 10... ms), which under load cost
more than the writes themselves. PostgreSQL uses its defaults (READ COMMITTED) and constraints
for concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import uuid
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Row,
    Select,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import SingletonThreadPool
from sqlalchemy.sql import Executable, Insert
from sqlalchemy.types import TypeDecorator

from unihub.core.loops import PerLoop

T = TypeVar("T")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_ts(value: datetime) -> str:
    """RFC 3339, microseconds, `Z`: `2020-10-13T02:42:26.993210Z`."""
    # isoformat is several times faster than strftime; it runs twice per hub on the wire.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
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
        # the pool and answers 503 (see `hardening.faults`).
        if dbapi_conn.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")

    return engine


def _inline_sqlite_engine(url: str) -> Engine | None:
    """A synchronous pysqlite engine on the file of a SQLite `url`; None for other backends
    and in-memory databases (not shared between engines)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if parsed.database in (None, "", ":memory:") or "memory" in str(parsed.query):
        return None
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


def make_inline_writer(url: str) -> Engine | None:
    """A synchronous engine on the same SQLite file for `Database.transact`'s fast path.

    Every statement through aiosqlite is several thread round trips; a whole hub insert in WAL
    mode takes tens of microseconds inline. `busy_timeout=0`: when another process holds the
    write lock, `transact` falls back to the threaded engine (which may wait) instead of
    blocking the event loop.
    """
    engine = _inline_sqlite_engine(url)
    if engine is None:
        return None

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _is_busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


Query = Executable | tuple[Executable, Mapping[str, Any] | None]


_Compiled = tuple[str, list[tuple[str, Any, Any]], list[Any], type | None]


class Prepared:
    """A Core statement for the hottest paths, run on the raw SQLite driver.

    SQLAlchemy's execute path (connection, execution context, cache key, result, row objects)
    cost several times the statement itself on GET and POST hub (profiled). On SQLite's inline
    reader and writer the statement is compiled once and run on the pooled sqlite3 connection,
    with the same bind and result type processing; rows are named tuples (attribute and index
    access), and driver errors are wrapped exactly as SQLAlchemy wraps them. Anywhere else it
    is a plain statement.
    """

    def __init__(self, statement: Select[Any] | Insert) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    def compiled(self, dialect: Dialect) -> _Compiled:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=dialect)
            binds = [
                (
                    name,
                    compiled.binds[name].effective_value,
                    compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
                )
                for name in compiled.positiontup or ()
            ]
            results: list[Any] = []
            row: type | None = None
            if isinstance(self.statement, Select):
                columns = self.statement.selected_columns
                results = [
                    c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
                ]
                row = namedtuple("row", list(columns.keys()), rename=True)  # type: ignore[misc,no-redef]
            self._compiled = (compiled.string, binds, results, row)
        return self._compiled

    def _args(self, dialect: Dialect, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        sql, binds, _, _ = self.compiled(dialect)
        args = []
        for name, default, process in binds:
            value = params.get(name, default)
            args.append(value if process is None or value is None else process(value))
        return sql, args

    def execute(self, session: Session, params: Mapping[str, Any]) -> None:
        """Run a write inside `session`'s transaction (see `Database.transact`)."""
        bind = session.get_bind()
        if bind.dialect.driver != "pysqlite":
            session.execute(self.statement, params)
            return
        sql, args = self._args(bind.dialect, params)
        dbapi = session.connection().connection.dbapi_connection
        assert dbapi is not None
        try:
            dbapi.execute(sql, args)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc

    def first_row(self, dialect: Dialect, conn: Any, params: Mapping[str, Any]) -> Any:
        sql, args = self._args(dialect, params)
        _, _, results, row = self.compiled(dialect)
        assert row is not None, "only a select returns rows"
        cursor = conn.execute(sql, args)
        raw = cursor.fetchone()
        cursor.close()
        if raw is None:
            return None
        return row(*[v if p is None else p(v) for p, v in zip(results, raw, strict=True)])


class Database:
    """One engine and its session factory.

    `read()` and `write()` give ORM sessions; `fetch()` runs read-only Core statements with
    the least overhead (inline on SQLite, a bare connection on PostgreSQL) for hot paths.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._inline = make_inline_reader(url) if self.is_sqlite else None
        # SQLite has one writer at a time; queueing this process's writers avoids
        # busy_timeout's sleep-and-retry (profiled: p99 over a second under 32 writers).
        # One lock per event loop: tests and tools may drive one Database from several loops.
        self._write_locks: PerLoop[asyncio.Lock] = PerLoop(lambda _loop: asyncio.Lock())
        self._inline_writer = make_inline_writer(url) if self.is_sqlite else None
        self._point_readers: dict[int, Any] = {}  # thread id -> see `_point_reader`
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    async def transact(self, work: Callable[[Session], T]) -> T:
        """`work(session)` in one write transaction (all or nothing), returning its result.

        `work` is plain synchronous code over a sync ORM `Session`. On SQLite it runs inline
        on the event loop when the write lock is free at once (the common case). When it is
        not, the call queues behind this process's other writers and tries inline again:
        falling straight back to the threaded engine made every writer arriving meanwhile
        find the lock taken too, and under load ~8% of hub creates took that slow road
        (p99 220 ms against a p50 of 0.3 ms in the server, measured). Only when another
        process holds the lock does it wait on the threaded engine, off the event loop. On
        PostgreSQL it runs through `AsyncSession.run_sync`.
        """
        if self._inline_writer is None:
            async with self.write() as asession:
                return await asession.run_sync(work)
        done, result = self._transact_inline(work)
        if done:
            return cast(T, result)
        async with self._write_lock():
            done, result = self._transact_inline(work)
            if done:
                return cast(T, result)
            async with self._sessions() as asession, asession.begin():
                return await asession.run_sync(work)

    def _transact_inline(self, work: Callable[[Session], T]) -> tuple[bool, T | None]:
        """(True, result), or (False, None) when the write lock is taken: nothing was run."""
        assert self._inline_writer is not None
        with Session(self._inline_writer, expire_on_commit=False) as session:
            try:
                session.connection()  # BEGIN IMMEDIATE: the write lock now, or busy
            except OperationalError as exc:
                if not _is_busy(exc):
                    raise
                return False, None
            try:
                result = work(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise
            return True, result

    async def fetch(self, *queries: Query) -> list[Sequence[Row[Any]]]:
        """Each query's rows, all read in one transaction (one snapshot on SQLite).

        A query is a statement or (statement, parameters): statements built once with
        `bindparam` skip per-call construction. For bounded reads only (by key, or a page):
        on SQLite they run on the event loop.
        """
        pairs = [q if isinstance(q, tuple) else (q, None) for q in queries]
        if self._inline is not None:
            if len(pairs) == 1:  # one statement is atomic by itself: no BEGIN/COMMIT needed
                with self._inline.connect() as conn:
                    conn = conn.execution_options(single_statement=True)
                    return [conn.execute(pairs[0][0], pairs[0][1]).all()]
            with self._inline.begin() as conn:
                return [conn.execute(stmt, params).all() for stmt, params in pairs]
        # One statement needs no transaction: autocommit skips a BEGIN and a ROLLBACK round trip
        # (16% of GET hub on PostgreSQL, profiled).
        engine = self._autocommit if len(pairs) == 1 else self.engine
        async with engine.connect() as aconn:
            return [(await aconn.execute(stmt, params)).all() for stmt, params in pairs]

    async def read_sync(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)`: synchronous Core reads with logic between them, one snapshot.

        The same bounds as `fetch`: on SQLite it runs on the event loop.
        """
        if self._inline is not None:
            with self._inline.begin() as conn:
                return work(conn)
        async with self.engine.connect() as aconn:
            return await aconn.run_sync(work)

    async def fetch_first(
        self, statement: Executable | Prepared, params: Mapping[str, Any] | None = None
    ) -> Row[Any] | None:
        if isinstance(statement, Prepared):
            if self._inline is not None:
                try:
                    return cast("Row[Any] | None", self._fetch_first_raw(statement, params or {}))
                except sqlite3.Error:
                    pass  # run it again below, where errors are wrapped and pools heal
            statement = statement.statement
        rows = (await self.fetch((statement, params)))[0]
        return rows[0] if rows else None

    def _fetch_first_raw(self, prepared: Prepared, params: Mapping[str, Any]) -> Any:
        assert self._inline is not None
        conn = self._point_readers.get(threading.get_ident())
        if conn is None:
            conn = self._point_reader()
        try:
            return prepared.first_row(self._inline.dialect, conn, params)
        except sqlite3.Error:
            self._drop_point_reader()
            raise

    def _point_reader(self) -> Any:
        """This thread's own connection of the inline reader, kept open for `Prepared` reads.

        Taken out of the pool once (`detach`): a pool checkout and checkin per read cost more
        than the read itself (profiled on GET hub). sqlite3 connections belong to one thread.
        """
        assert self._inline is not None
        fairy = self._inline.raw_connection()
        fairy.detach()
        conn = fairy.dbapi_connection
        self._point_readers[threading.get_ident()] = conn
        return conn

    def _drop_point_reader(self) -> None:
        conn = self._point_readers.pop(threading.get_ident(), None)
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction committed on success and rolled back on any error: no half-writes."""
        if not self.is_sqlite:
            async with self._sessions() as session, session.begin():
                yield session
            return
        async with self._write_lock(), self._sessions() as session, session.begin():
            # First use of the connection: the begin event sees the option.
            await session.connection(execution_options={"sqlite_immediate": True})
            yield session

    def sync_engines(self) -> list[Engine]:
        """Every engine that opens connections to this database (for connection-level hooks)."""
        engines = [self.engine.sync_engine]
        engines += [e for e in (self._inline, self._inline_writer) if e is not None]
        return engines

    def _write_lock(self) -> asyncio.Lock:
        return self._write_locks.get()

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        self._drop_point_reader()
        self._point_readers.clear()  # other threads' connections close with their objects
        await self.engine.dispose()
        for engine in (self._inline, self._inline_writer):
            if engine is not None:
                engine.dispose()


def is_unique_violation(exc: BaseException, constraint: str, *columns: str) -> bool:
    """Whether an IntegrityError is the named unique constraint, on either backend.

    PostgreSQL names the constraint; SQLite lists the columns ("UNIQUE constraint failed: t.a").
    """
    text = str(getattr(exc, "orig", exc))
    if constraint in text:
        return True
    return "UNIQUE constraint failed" in text and all(c in text for c in columns)
