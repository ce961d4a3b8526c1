"""A turn's reply kept with its processed update until it has been sent.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.add_column(sa.Column("respondent", sa.String(64), nullable=True))
        batch.add_column(sa.Column("reply", sa.LargeBinary(), nullable=True))
    op.create_index("ix_processed_updates_respondent", "processed_updates", ["respondent"])


def downgrade() -> None:
    op.drop_index("ix_processed_updates_respondent", table_name="processed_updates")
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_column("reply")
        batch.drop_column("respondent")
