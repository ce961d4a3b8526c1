"""A partial index of claimable accounts, so claims stay fast when most are done.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('new', 'in-review')")


def upgrade() -> None:
    op.create_index(
        "ix_accounts_claimable",
        "accounts",
        [sa.text("urgent DESC"), "received_at", "id"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_claimable", "accounts")
