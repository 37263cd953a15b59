"""What the database holds on disk and in every table, for tests that hunt for secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect, text

from unihub.core.context import AppContext

_READ_RAW = (
    "import os, sys\n"
    "for p in sys.argv[1:]:\n"
    "    if os.path.exists(p):\n"
    "        sys.stdout.buffer.write(open(p, 'rb').read())\n"
)


async def stored_bytes(ctx: AppContext) -> bytes:
    """Every row of every table as text, plus, on SQLite, the raw database and WAL files.

    The raw files are read from another process: closing a descriptor of the live database
    in this process would drop SQLite's POSIX locks (and let others reset the WAL index).
    """
    async with ctx.db.read() as s:
        conn = await s.connection()
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        dump = []
        for table in tables:
            rows = (await s.execute(text(f'SELECT * FROM "{table}"'))).all()
            dump.append(repr(rows))
    out = "\n".join(dump).encode()
    if ctx.db.is_sqlite:
        db_file = Path(ctx.settings.data_dir) / "unihub.db"
        out += subprocess.run(
            [sys.executable, "-c", _READ_RAW, str(db_file), f"{db_file}-wal"],
            capture_output=True,
            check=True,
        ).stdout
    return out
