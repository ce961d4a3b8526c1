"""Documenter invites (hashed codes, encrypted notes) and wrong-code attempts.

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
    op.create_table(
        "documenters",
        sa.Column("pseudonym", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("profile", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("respondent", sa.String(64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accounts", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("pseudonym", name="pk_documenters"),
        sa.UniqueConstraint("code_hash", name="uq_documenters_code_hash"),
        sa.UniqueConstraint("respondent", name="uq_documenters_respondent"),
    )
    op.create_table(
        "invite_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("respondent", sa.String(64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invite_attempts"),
    )
    op.create_index("ix_invite_attempts_respondent", "invite_attempts", ["respondent"])
    op.create_index("ix_invite_attempts_attempted_at", "invite_attempts", ["attempted_at"])


def downgrade() -> None:
    op.drop_index("ix_invite_attempts_attempted_at", table_name="invite_attempts")
    op.drop_index("ix_invite_attempts_respondent", table_name="invite_attempts")
    op.drop_table("invite_attempts")
    op.drop_table("documenters")
