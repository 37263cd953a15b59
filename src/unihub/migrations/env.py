"""Alembic environment: the URL comes from the caller (unihub.core.migrate), never an ini file.

`unihub.core.migrate` hands over the connection it holds the migration lock on
(`config.attributes["connection"]`); without one (tests driving Alembic directly) a
connection of its own is opened.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from unihub.core.engines import make_engine
from unihub.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
elif (locked := config.attributes.get("connection")) is not None:
    _run(locked)
else:
    asyncio.run(_run_async())
