"""Documenter mode: each account's mode and the documenter's pseudonym, for filtering.

Rows from before stay NULL (read as survivor accounts). The node role's column grant
must include the two new columns: run `attest queue init --node-role NAME` again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), nullable=True))
        batch.add_column(sa.Column("documenter", sa.String(32), nullable=True))
    op.create_index("ix_accounts_documenter", "accounts", ["documenter"])


def downgrade() -> None:
    op.drop_index("ix_accounts_documenter", table_name="accounts")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("documenter")
        batch.drop_column("mode")
