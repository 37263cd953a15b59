"""idempotency answers encrypted: drop the answers stored in clear before

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Answers written before this revision may hold new client secrets and signing keys in
    # clear, and their request hashes were unkeyed: neither can be read any more. A retry of
    # one of those requests runs again (keys live 24 h; upgrades are rare).
    op.execute("DELETE FROM idempotency_keys")


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_keys")
