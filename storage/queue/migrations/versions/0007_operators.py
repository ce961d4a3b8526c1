"""Listing order by submission time; a partial index of receipts not yet logged.

- The listing and claim order becomes urgent first, then by *submission* time (the time
  the person sent the account; the sync time only where a node left it empty), then id:
  `ix_accounts_order`, `ix_accounts_status_order` and `ix_accounts_claimable` are made
  again on `coalesce(submitted_at, received_at)` instead of `received_at`.
- `ix_accounts_receipt` (every row, one value once receipts are logged: the planner
  scanned the table through it) becomes `ix_accounts_receipt_unlogged`, a partial index
  of the rows `WHERE receipt_logged = false`, empty almost always.
- `ix_accounts_visible` (every column a listing filters on, and withdrawn_at) and
  `ix_accounts_unsealed` (the rare live row without a body), so "showing N of M" counts
  without reading the table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('new', 'in-review')")
UNLOGGED = sa.text("receipt_logged = false")
SUBMITTED = sa.text("coalesce(submitted_at, received_at)")
RECEIVED = "received_at"
UNSEALED = sa.text("sealed IS NULL AND withdrawn_at IS NULL")
# The columns every `review list` filter reads (storage.queue.tables.VISIBLE_COLUMNS then).
VISIBLE_COLUMNS = (
    "status",
    "urgent",
    "language",
    "assignee",
    "submitted_at",
    "received_at",
    "withdrawal_hash",
    "id",
    "withdrawn_at",
)


def _order_indexes(when: sa.TextClause | str) -> None:
    # received_at breaks ties of submission time (and stands alone in the downgrade).
    tail = [when, "id"] if when == RECEIVED else [when, "received_at", "id"]
    op.create_index("ix_accounts_order", "accounts", [sa.text("urgent DESC"), *tail])
    op.create_index(
        "ix_accounts_status_order", "accounts", ["status", sa.text("urgent DESC"), *tail]
    )
    op.create_index(
        "ix_accounts_claimable",
        "accounts",
        [sa.text("urgent DESC"), *tail],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def _drop_order_indexes() -> None:
    for name in ("ix_accounts_order", "ix_accounts_status_order", "ix_accounts_claimable"):
        op.drop_index(name, "accounts")


def upgrade() -> None:
    _drop_order_indexes()
    _order_indexes(SUBMITTED)
    op.drop_index("ix_accounts_receipt", "accounts")
    op.create_index(
        "ix_accounts_receipt_unlogged",
        "accounts",
        ["received_at", "id"],
        sqlite_where=UNLOGGED,
        postgresql_where=UNLOGGED,
    )
    # `review list`'s "showing N of M" counts in these two, never reading the table.
    op.create_index("ix_accounts_visible", "accounts", list(VISIBLE_COLUMNS))
    op.create_index(
        "ix_accounts_unsealed",
        "accounts",
        ["id"],
        sqlite_where=UNSEALED,
        postgresql_where=UNSEALED,
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_unsealed", "accounts")
    op.drop_index("ix_accounts_visible", "accounts")
    op.drop_index("ix_accounts_receipt_unlogged", "accounts")
    op.create_index("ix_accounts_receipt", "accounts", ["receipt_logged"])
    _drop_order_indexes()
    _order_indexes(RECEIVED)
