"""Withdrawal tags hashed in place; withdrawal requests carry secrets; node rows checked.

- `accounts.withdrawal_tag` (a clear bearer token: whoever read it could withdraw the
  account) becomes `withdrawal_hash`, each value replaced by its one-way hash. The clear
  tag was the secret a request now carries, so the person's reference code still works.
- `withdrawals.tag` becomes `secret`, with `batch`, `secret_hash` and `status`. A request
  already applied stays so; one still waiting may be a copied tag (the attack this
  revision closes), so it waits for an administrator (`attest queue withdrawals`).
- `nodes` rows whose key does not hash to their fingerprint are deleted (a planted row
  could only mislead a pin) and, on PostgreSQL, a CHECK refuses any such row from now on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from storage.crypto import fingerprint_of, withdrawal_hash

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)
NODE_CHECK = "ck_nodes_fingerprint_is_key_hash"
WAITING_BATCH = "old-0003-migration"  # storage.queue.withdrawals.OLD_FORMAT_BATCH + a name


def upgrade() -> None:
    conn = op.get_bind()
    _drop_mismatched_nodes(conn)
    if conn.dialect.name == "postgresql":
        op.create_check_constraint(
            NODE_CHECK,
            "nodes",
            "fingerprint = left(encode(sha256(public_key), 'hex'), 32)",
        )
    op.drop_index("ix_accounts_withdrawal_tag", "accounts")
    op.execute("ALTER TABLE accounts RENAME COLUMN withdrawal_tag TO withdrawal_hash")
    rows = conn.execute(
        sa.text("SELECT id, withdrawal_hash FROM accounts WHERE withdrawal_hash IS NOT NULL")
    ).all()
    if rows:
        conn.execute(
            sa.text("UPDATE accounts SET withdrawal_hash = :h WHERE id = :id"),
            [{"h": withdrawal_hash(r.withdrawal_hash), "id": r.id} for r in rows],
        )
    op.create_index("ix_accounts_withdrawal_hash", "accounts", ["withdrawal_hash"])

    op.execute("ALTER TABLE withdrawals RENAME COLUMN tag TO secret")
    op.add_column("withdrawals", sa.Column("batch", sa.String(32)))
    op.add_column("withdrawals", sa.Column("secret_hash", sa.String(64)))
    op.add_column("withdrawals", sa.Column("status", sa.String(16)))
    requests = conn.execute(sa.text("SELECT secret FROM withdrawals")).scalars().all()
    applied = set(
        conn.execute(
            sa.text("SELECT withdrawal_hash FROM accounts WHERE withdrawn_at IS NOT NULL")
        ).scalars()
    )
    if requests:
        conn.execute(
            sa.text(
                "UPDATE withdrawals SET secret_hash = :h, status = :status, batch = :batch "
                "WHERE secret = :s"
            ),
            [
                {"h": h, "s": s, "status": "accepted", "batch": None}
                if h in applied
                # Examined by the next reviewer command, whose "old-" batches are held.
                else {"h": None, "s": s, "status": None, "batch": WAITING_BATCH}
                for s, h in ((s, withdrawal_hash(s)) for s in requests)
            ],
        )
    op.create_index("ix_withdrawals_secret_hash", "withdrawals", ["secret_hash"])
    op.create_index("ix_withdrawals_status", "withdrawals", ["status"])


def _drop_mismatched_nodes(conn: sa.Connection) -> None:
    rows = conn.execute(sa.text("SELECT fingerprint, public_key FROM nodes")).all()
    forged = [r.fingerprint for r in rows if fingerprint_of(bytes(r.public_key)) != r.fingerprint]
    if forged:
        log.warning(
            "queue migration 0003: dropped %d node row(s) whose key does not match", len(forged)
        )
        conn.execute(
            sa.text("DELETE FROM nodes WHERE fingerprint = :f"), [{"f": f} for f in forged]
        )


def downgrade() -> None:
    # The clear tags cannot come back from their hashes: a downgrade keeps the hashes,
    # which the code of revision 0002 never matches (withdrawals then wait for 0003).
    op.drop_index("ix_withdrawals_status", "withdrawals")
    op.drop_index("ix_withdrawals_secret_hash", "withdrawals")
    op.drop_column("withdrawals", "status")
    op.drop_column("withdrawals", "secret_hash")
    op.drop_column("withdrawals", "batch")
    op.execute("ALTER TABLE withdrawals RENAME COLUMN secret TO tag")
    op.drop_index("ix_accounts_withdrawal_hash", "accounts")
    op.execute("ALTER TABLE accounts RENAME COLUMN withdrawal_hash TO withdrawal_tag")
    op.create_index("ix_accounts_withdrawal_tag", "accounts", ["withdrawal_tag"])
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(NODE_CHECK, "nodes", type_="check")
