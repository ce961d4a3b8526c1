"""The reviewer queue: accounts, files, withdrawals, tags, notes, audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "queue_info",
        sa.Column("queue_id", sa.String(32), primary_key=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "nodes",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("first_seen", TZ, nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("submitted_at", TZ),
        sa.Column("flow", sa.String(64)),
        sa.Column("language", sa.String(16)),
        sa.Column("channel", sa.String(32)),
        sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("scopes", sa.Text),
        sa.Column("withdrawal_tag", sa.String(128)),
        sa.Column("node_fingerprint", sa.String(64)),
        sa.Column("sealed", sa.Text),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'new'")),
        sa.Column("assignee", sa.String(64)),
        sa.Column("lease_until", TZ),
        sa.Column("updated_at", TZ),
        sa.Column("withdrawn_at", TZ),
        sa.Column("receipt_logged", sa.Boolean, nullable=False, server_default=sa.text("false")),
    )
    op.create_index("ix_accounts_order", "accounts", [sa.text("urgent DESC"), "received_at", "id"])
    op.create_index(
        "ix_accounts_status_order",
        "accounts",
        ["status", sa.text("urgent DESC"), "received_at", "id"],
    )
    op.create_index("ix_accounts_withdrawal_tag", "accounts", ["withdrawal_tag"])
    op.create_index("ix_accounts_receipt", "accounts", ["receipt_logged"])
    op.create_table(
        "account_files",
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("file_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32)),
        sa.Column("mime_type", sa.String(128)),
        sa.Column("size", sa.Integer),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "withdrawals",
        sa.Column("tag", sa.String(128), primary_key=True),
        sa.Column("requested_at", TZ, nullable=False),
    )
    op.create_table(
        "account_tags",
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("tag", sa.String(64), primary_key=True),
    )
    op.create_index("ix_account_tags_tag", "account_tags", ["tag", "account_id"])
    op.create_table(
        "account_notes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_account_notes_account", "account_notes", ["account_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_account", "audit_log", ["account_id"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "account_notes",
        "account_tags",
        "withdrawals",
        "account_files",
        "accounts",
        "nodes",
        "queue_info",
    ):
        op.drop_table(table)
