"""deliveries.binding: the customer address travels with each outbox row

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("binding", sa.String(length=256), nullable=True))
    # Rows written before this revision: their conversation's binding.
    op.execute(
        "UPDATE deliveries SET binding = (SELECT c.binding FROM conversations c"
        " WHERE c.id = deliveries.conversation_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("binding")
