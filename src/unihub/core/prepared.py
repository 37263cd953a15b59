"""`Prepared`: the hottest statements compiled once and run on the raw SQLite driver."""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, Update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Insert

T = TypeVar("T")

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

    def __init__(self, statement: Select[Any] | Insert | Update) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None
        # Columns whose default SQLAlchemy would fill in: an insert missing one takes the
        # ordinary path, so a raw insert never stores NULL where a default was meant.
        table = getattr(statement, "table", None)
        self._defaulted = (
            frozenset(c.key for c in getattr(table, "c", ()) if c.default is not None)
            if isinstance(statement, Insert)
            else frozenset()
        )

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
            columns: Any = None
            if isinstance(self.statement, Select):
                columns = self.statement.selected_columns
            elif isinstance(self.statement, Update) and self.statement._returning:
                columns = self.statement.exported_columns
            if columns is not None:
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

    def _raw(self, session: Session) -> Any:
        """The session's sqlite3 connection (in its transaction), or None elsewhere."""
        bind = session.get_bind()
        if bind.dialect.driver != "pysqlite":
            return None
        return session.connection().connection.dbapi_connection

    def execute(self, session: Session, params: Mapping[str, Any]) -> None:
        """Run a write inside `session`'s transaction (see `Database.transact`)."""
        dbapi = self._raw(session)
        if dbapi is None or not self._defaulted <= params.keys():
            session.execute(self.statement, params)
            return
        sql, args = self._args(session.get_bind().dialect, params)
        try:
            dbapi.execute(sql, args)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc

    def execute_many(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """`execute` for several rows of one insert (one executemany on SQLite)."""
        dbapi = self._raw(session)
        if dbapi is None or not all(self._defaulted <= row.keys() for row in rows):
            session.execute(self.statement, rows)
            return
        dialect = session.get_bind().dialect
        sql = self.compiled(dialect)[0]
        args = [self._args(dialect, row)[1] for row in rows]
        try:
            dbapi.executemany(sql, args)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc

    def returning_all(self, session: Session, params: Mapping[str, Any]) -> list[Any]:
        """An UPDATE ... RETURNING in `session`'s transaction: every row it returned."""
        dbapi = self._raw(session)
        if dbapi is None:
            return list(session.execute(self.statement, params).all())
        return self._all_rows(session.get_bind().dialect, dbapi, params)

    def returning_first(self, session: Session, params: Mapping[str, Any]) -> Any:
        """An UPDATE ... RETURNING in `session`'s transaction: its first row, or None."""
        rows = self.returning_all(session, params)
        return rows[0] if rows else None

    def rows_in(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """A select's rows inside `conn`'s transaction (see `Database.read_sync`)."""
        if conn.dialect.driver != "pysqlite":
            return list(conn.execute(self.statement, params).all())
        return self._all_rows(conn.dialect, conn.connection.dbapi_connection, params)

    def _all_rows(self, dialect: Dialect, dbapi: Any, params: Mapping[str, Any]) -> list[Any]:
        sql, args = self._args(dialect, params)
        _, _, results, row = self.compiled(dialect)
        assert row is not None, "only a select or an update ... returning returns rows"
        try:
            raw = dbapi.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc
        return [
            row(*[v if p is None else p(v) for p, v in zip(results, values, strict=True)])
            for values in raw
        ]

    def first_row(self, dialect: Dialect, conn: Any, params: Mapping[str, Any]) -> Any:
        sql, args = self._args(dialect, params)
        _, _, results, row = self.compiled(dialect)
        assert row is not None, "only a select or an update ... returning returns rows"
        cursor = conn.execute(sql, args)
        raw = cursor.fetchone()
        cursor.close()
        if raw is None:
            return None
        return row(*[v if p is None else p(v) for p, v in zip(results, raw, strict=True)])


_COLUMN_KEYS: dict[type[Any], tuple[str, ...]] = {}


def column_keys(model: type[Any]) -> tuple[str, ...]:
    """A mapped class's column attributes, in table order (see `model_columns`)."""
    keys = _COLUMN_KEYS.get(model)
    if keys is None:
        keys = _COLUMN_KEYS[model] = tuple(p.key for p in sa_inspect(model).column_attrs)
    return keys


def model_columns(model: type[Any]) -> list[Any]:
    """Every column of `model`, in `column_keys` order: select them, then `detached`."""
    return [getattr(model, key) for key in column_keys(model)]


def detached(model: type[T], values: Sequence[Any]) -> T:
    """An ORM object holding a row's values (in `column_keys` order), built without a session
    or the ORM's loading.

    For hot reads whose objects are only read afterwards (the accept path): SQLAlchemy's
    loading of a joined conversation and hub cost several times the statement (profiled).
    The object is transient; its attributes are set in its state's dict exactly as loading
    sets them, so reading them triggers nothing.
    """
    obj: T = sa_inspect(model).class_manager.new_instance()
    obj.__dict__.update(zip(column_keys(model), values, strict=True))
    return obj
