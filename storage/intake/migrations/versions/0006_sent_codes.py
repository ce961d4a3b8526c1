"""A keyed digest of each sent account's reference code, to refuse mistyped withdrawals.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Accounts sent before this revision have no digest: their codes are looked up in the
    # outbox while they wait there, and otherwise go to the team to match (flows/withdrawal.py).
    op.create_table(
        "sent_codes",
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("code_digest", name="pk_sent_codes"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("sent_codes")
