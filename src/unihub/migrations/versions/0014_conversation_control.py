"""conversations.control_*: who controls each open conversation (the switchboard)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import unihub.core.orm

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# A conversation starts with the hub's oldest active Bot (status 3000), else its agents.


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("control_kind", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("control_integration_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("control_start_id", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("control_since", unihub.core.orm.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_conversations_hub_control", ["hub_id", "status", "control_kind"])
    # Open conversations start as a new one would: with the hub's bot, else with its agents.
    op.execute(
        "UPDATE conversations SET control_start_id = (SELECT i.id FROM integrations i"
        " WHERE i.hub_id = conversations.hub_id AND i.integration_type = 'Bot'"
        " AND i.status_id = 3000 ORDER BY i.created, i.id LIMIT 1) WHERE status = 'open'"
    )
    op.execute(
        "UPDATE conversations SET control_integration_id = control_start_id,"
        " control_since = last_activity_at,"
        " control_kind = CASE WHEN control_start_id IS NULL THEN 'agents' ELSE 'bot' END"
        " WHERE status = 'open'"
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_hub_control")
        batch.drop_column("control_since")
        batch.drop_column("control_start_id")
        batch.drop_column("control_integration_id")
        batch.drop_column("control_kind")
