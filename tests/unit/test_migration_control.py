"""Migration 0014 on a populated SQLite database: open conversations get the control a new
one would get (the hub's oldest active bot, else its agents); closed ones get none."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from alembic import command

from unihub.core.migrate import alembic_config


def _row(db: sqlite3.Connection, cid: str) -> tuple[str | None, str | None, str | None]:
    found = db.execute(
        "SELECT control_kind, control_integration_id, control_start_id FROM conversations"
        " WHERE id = ?",
        (cid,),
    ).fetchone()
    assert found is not None
    return found[0], found[1], found[2]


def test_open_conversations_start_with_the_oldest_active_bot(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    cfg = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(cfg, "0013")
    tenant, with_bot, without_bot = (uuid.uuid4().hex for _ in range(3))
    paused_bot, old_bot, new_bot, agent = (uuid.uuid4().hex for _ in range(4))
    open_a, open_b, closed = (uuid.uuid4().hex for _ in range(3))
    now = "2026-12-01 10:00:00.000000"
    db = sqlite3.connect(path)
    db.execute("INSERT INTO tenants (id, name, created) VALUES (?, 't', ?)", (tenant, now))
    for hub in (with_bot, without_bot):
        db.execute(
            "INSERT INTO hubs (id, tenant_id, name, name_key, description, status_id,"
            " close_dormant_conversation, created, modified)"
            " VALUES (?, ?, ?, ?, '', 2000, 0, ?, ?)",
            (hub, tenant, hub, hub, now, now),
        )
    for iid, hub, kind, status, created in (
        (paused_bot, with_bot, "Bot", 3002, "2026-01-01 00:00:00.000000"),
        (old_bot, with_bot, "Bot", 3000, "2026-02-01 00:00:00.000000"),
        (new_bot, with_bot, "Bot", 3000, "2026-03-01 00:00:00.000000"),
        (agent, without_bot, "Agent", 3000, "2026-01-01 00:00:00.000000"),
    ):
        db.execute(
            "INSERT INTO integrations (id, tenant_id, hub_id, channel_id, integration_type,"
            " name, name_key, status_id, configuration, created, modified)"
            " VALUES (?, ?, ?, 1, ?, ?, ?, ?, '{}', ?, ?)",
            (iid, tenant, hub, kind, iid, iid, status, created, created),
        )
    for cid, hub, state in (
        (open_a, with_bot, "open"),
        (open_b, without_bot, "open"),
        (closed, with_bot, "closed"),
    ):
        db.execute(
            "INSERT INTO conversations (id, tenant_id, hub_id, integration_id, binding, status,"
            " open_key, token_id, properties, last_seq, last_event_id, created,"
            " last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?, 't', '{}', 0, 0, ?, ?)",
            (cid, tenant, hub, agent, cid, state, cid if state == "open" else None, now, now),
        )
    db.commit()
    db.close()

    command.upgrade(cfg, "head")

    db = sqlite3.connect(path)
    assert _row(db, open_a) == ("bot", old_bot, old_bot)
    assert _row(db, open_b) == ("agents", None, None)
    assert _row(db, closed) == (None, None, None)
    db.close()
