"""A covering index for the reviewer desk's listing, so pages stay fast at 100,000 accounts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_accounts_listing",
        "accounts",
        [
            sa.text("urgent DESC"),
            "received_at",
            "id",
            "status",
            "withdrawn_at",
            "withdrawal_hash",
            "language",
            "flow",
            "assignee",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_listing", "accounts")
