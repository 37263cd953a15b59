"""`Prepared`: the hottest statements compiled once and run on the raw SQLite driver."""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Insert

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
