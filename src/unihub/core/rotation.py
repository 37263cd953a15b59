"""Re-encrypting stored secrets under the newest key (`unihub secrets rotate`).

Every column marked `info=core.orm.ENCRYPTED` is walked in primary-key order, `batch_size`
values at a time: each batch is read in one short transaction, re-encrypted outside any
transaction (`SecretBox.rotated`: a value already under the newest key is left alone), and
written back in another short transaction, one `UPDATE` per value by primary key that also
requires the value still to be the one read. So nothing is locked while encrypting, a row
the server rewrote meanwhile (under the newest key, since it runs with the same key list) is
not overwritten, and a run that is interrupted loses at most its current batch: the next run
finds the values already rotated current and skips them. Values no configured key decrypts
are reported and left untouched; the other values are still rotated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Column, CursorResult, MetaData, Table, func, select, tuple_, update
from sqlalchemy.sql.elements import ColumnElement

from unihub.core.database import Database
from unihub.core.orm import is_encrypted
from unihub.core.security import SecretBox


@dataclass(frozen=True)
class EncryptedColumn:
    table: Table
    column: Column[Any]

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


@dataclass(frozen=True)
class Undecryptable:
    column: str
    key: dict[str, str]

    def __str__(self) -> str:
        ids = ", ".join(f"{name}={value}" for name, value in self.key.items())
        return f"{self.column} ({ids})"


@dataclass
class Report:
    rotated: int = 0
    current: int = 0
    # Rewritten or deleted by another process between our read and our write.
    changed: int = 0
    undecryptable: list[Undecryptable] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.rotated + self.current + self.changed + len(self.undecryptable)


def encrypted_columns(metadata: MetaData) -> list[EncryptedColumn]:
    found = [
        EncryptedColumn(table, column)
        for table in metadata.tables.values()
        for column in table.columns
        if is_encrypted(column.info)
    ]
    return sorted(found, key=lambda c: c.name)


async def count(db: Database, columns: Sequence[EncryptedColumn]) -> int:
    total = 0
    async with db.read() as s:
        for c in columns:
            stmt = select(func.count()).select_from(c.table).where(c.column.is_not(None))
            total += int((await s.execute(stmt)).scalar_one())
    return total


def _after(pk: Sequence[Column[Any]], last: Sequence[Any]) -> ColumnElement[bool]:
    if len(pk) == 1:
        return cast(ColumnElement[bool], pk[0] > last[0])
    return tuple_(*pk) > tuple_(*last)


async def rotate(
    db: Database,
    box: SecretBox,
    columns: Sequence[EncryptedColumn],
    *,
    batch_size: int = 500,
    pause_s: float = 0.0,
    on_batch: Callable[[EncryptedColumn, int], None] = lambda _c, _n: None,
) -> Report:
    """Every value of `columns` under `box`'s newest key, `batch_size` per transaction."""
    report = Report()
    for c in columns:
        pk = list(c.table.primary_key.columns)
        last: Sequence[Any] | None = None
        while True:
            stmt = select(*pk, c.column).where(c.column.is_not(None))
            if last is not None:
                stmt = stmt.where(_after(pk, last))
            async with db.read() as s:
                rows = (await s.execute(stmt.order_by(*pk).limit(batch_size))).all()
            if not rows:
                break
            last = tuple(rows[-1][: len(pk)])
            changes: list[tuple[tuple[Any, ...], Any, Any]] = []
            for row in rows:
                ids, value = tuple(row[: len(pk)]), row[len(pk)]
                text = isinstance(value, str)
                try:
                    new = box.rotated(value.encode() if text else bytes(value))
                except ValueError:
                    key = {col.name: str(v) for col, v in zip(pk, ids, strict=True)}
                    report.undecryptable.append(Undecryptable(c.name, key))
                    continue
                if new is None:
                    report.current += 1
                else:
                    changes.append((ids, value, new.decode() if text else new))
            if changes:
                async with db.write() as s:
                    for ids, old, new_value in changes:
                        where = [col == v for col, v in zip(pk, ids, strict=True)]
                        result = await s.execute(
                            update(c.table)
                            .where(*where, c.column == old)
                            .values({c.column: new_value})
                        )
                        if cast(CursorResult[Any], result).rowcount == 1:
                            report.rotated += 1
                        else:
                            report.changed += 1
            on_batch(c, len(rows))
            if pause_s:
                await asyncio.sleep(pause_s)
    return report
