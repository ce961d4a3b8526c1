"""Outbox of sealed accounts, encrypted files, withdrawals, chat message ids.

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


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("node_fingerprint", sa.String(64), nullable=False),
        sa.Column("metadata_json", sa.Text(), nullable=False),
        sa.Column("recipients_json", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("withdrawal_tag", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_withdrawal_tag", "outbox", ["withdrawal_tag"])
    op.create_index("ix_outbox_created_at", "outbox", ["created_at"])
    op.create_table(
        "files",
        sa.Column("file_id", sa.String(32), nullable=False),
        sa.Column("respondent", sa.String(64), nullable=True),
        sa.Column("account_id", sa.String(64), nullable=True),
        sa.Column("details", sa.LargeBinary(), nullable=True),
        sa.Column("stored_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("file_id", name="pk_files"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["outbox.account_id"],
            name="fk_files_account_id_outbox",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_files_respondent", "files", ["respondent"])
    op.create_index("ix_files_account_id", "files", ["account_id"])
    op.create_table(
        "withdrawal_requests",
        sa.Column("withdrawal_tag", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("withdrawal_tag", name="pk_withdrawal_requests"),
    )
    op.create_table(
        "withdrawal_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("respondent", sa.String(64), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_withdrawal_attempts"),
    )
    op.create_index("ix_withdrawal_attempts_respondent", "withdrawal_attempts", ["respondent"])
    op.create_index("ix_withdrawal_attempts_attempted_at", "withdrawal_attempts", ["attempted_at"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("respondent", sa.String(64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
    )
    op.create_index("ix_chat_messages_respondent", "chat_messages", ["respondent"])
    op.create_index("ix_chat_messages_created_at", "chat_messages", ["created_at"])


def downgrade() -> None:
    op.drop_table("chat_messages")
    op.drop_table("withdrawal_attempts")
    op.drop_table("withdrawal_requests")
    op.drop_table("files")
    op.drop_table("outbox")
