"""`Database`: the one way every domain reaches its data (sessions, fetches, transactions).

Within one process SQLite writers first queue on an asyncio lock: SQLite admits one writer at
a time anyway, and its busy handler waits by sleeping (1, 2, 5, 10... ms), which under load
cost more than the writes themselves. Engines: `core.engines`; tables: `core.orm`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    Row,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from unihub.core.engines import is_busy, make_engine, make_inline_reader, make_inline_writer
from unihub.core.loops import PerLoop
from unihub.core.prepared import Prepared

T = TypeVar("T")

Query = Executable | tuple[Executable, Mapping[str, Any] | None]


class Database:
    """One engine and its session factory.

    `read()` and `write()` give ORM sessions; `fetch()` runs read-only Core statements with
    the least overhead (inline on SQLite, a bare connection on PostgreSQL) for hot paths.
    """

    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        self.is_sqlite = url.startswith("sqlite")
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._inline = make_inline_reader(url) if self.is_sqlite else None
        # SQLite has one writer at a time; queueing this process's writers avoids
        # busy_timeout's sleep-and-retry (profiled: p99 over a second under 32 writers).
        # One lock per event loop: tests and tools may drive one Database from several loops.
        self._write_locks: PerLoop[asyncio.Lock] = PerLoop(lambda _loop: asyncio.Lock())
        self._inline_writer = (
            make_inline_writer(url, sqlite_synchronous) if self.is_sqlite else None
        )
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
                if not is_busy(exc):
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

    async def read_sync(self, work: Callable[[Connection], T], *, one_snapshot: bool = True) -> T:
        """`work(connection)`: synchronous Core reads with logic between them, one snapshot.

        The same bounds as `fetch`: on SQLite it runs on the event loop. `one_snapshot=False`
        when each statement may see the latest committed state on its own (as under
        PostgreSQL's READ COMMITTED anyway): PostgreSQL then reads in autocommit, without the
        BEGIN and ROLLBACK round trips (the accept path, profiled).
        """
        if self._inline is not None:
            with self._inline.begin() as conn:
                return work(conn)
        engine = self.engine if one_snapshot else self._autocommit
        async with engine.connect() as aconn:
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


def is_foreign_key_violation(exc: BaseException) -> bool:
    """Whether an IntegrityError is a foreign key failing (a parent deleted meanwhile), on
    either backend. By text: SQLite names no constraint."""
    return "foreign key" in str(getattr(exc, "orig", exc)).lower()


def is_unique_violation(exc: BaseException, constraint: str, *columns: str) -> bool:
    """Whether an IntegrityError is the named unique constraint, on either backend.

    PostgreSQL names the constraint; SQLite lists the columns ("UNIQUE constraint failed: t.a").
    """
    text = str(getattr(exc, "orig", exc))
    if constraint in text:
        return True
    return "UNIQUE constraint failed" in text and all(c in text for c in columns)
