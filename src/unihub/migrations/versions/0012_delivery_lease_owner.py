"""deliveries.leased_by: the process holding a lease, so a dead one's are taken back at once

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("leased_by", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("leased_by")
