"""Key lifecycle (issue 15): reseals of content keys for new reviewer keys.

- `reseals`: an account's content key wrapped for a reviewer key the node did not seal
  to, signed by the reviewer who resealed it. Deleted with the account's other rows when
  it is withdrawn.
- `audit_log.signature`: each new entry signed by its actor; `queue_info.signed_from`:
  the first entry that must be (the ones before were written unsigned).
- `node_rotations`: node signing-key rotation certificates, inserted by the node's role
  and read by reviewers, who follow one only when it verifies under a key they pinned.
- On PostgreSQL, a trigger on `audit_log` inserts: `seq` must be the head's plus one and
  `prev_hash` the head's hash, and an unsigned entry may come only from the table's
  owner (the administrator), never from the reviewers' role.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.db import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
DECLARE
    head_seq integer;
    head_hash varchar;
BEGIN
    -- The same lock appends take (storage.queue.audit._CHAIN_LOCK): one head at a time.
    PERFORM pg_advisory_xact_lock(4716522688841255425);
    SELECT seq, hash INTO head_seq, head_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    IF NEW.seq <> head_seq + 1 OR NEW.prev_hash <> head_hash THEN
        RAISE EXCEPTION 'audit_log: an entry must follow the head (seq %, got %)',
            head_seq + 1, NEW.seq USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.signature IS NULL AND NOT pg_has_role(
        current_user,
        (SELECT tableowner FROM pg_tables
          WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME),
        'USAGE'
    ) THEN
        RAISE EXCEPTION 'audit_log: only the administrator may write an unsigned entry'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("audit_log", sa.Column("signature", sa.Text()))
    op.add_column(
        "queue_info",
        sa.Column("signed_from", sa.Integer(), nullable=False, server_default=sa.text("1")),
    )
    head = conn.execute(sa.text("SELECT coalesce(max(seq), 0) FROM audit_log")).scalar_one()
    conn.execute(sa.text("UPDATE queue_info SET signed_from = :n"), {"n": int(head) + 1})
    if conn.dialect.name == "postgresql":
        op.execute(TRIGGER_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE INSERT ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    op.create_table(
        "node_rotations",
        sa.Column("new_fingerprint", sa.String(64), primary_key=True),
        sa.Column("new_key", sa.LargeBinary, nullable=False),
        sa.Column("old_key", sa.LargeBinary, nullable=False),
        sa.Column("rotated_at", sa.String(40), nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "reseals",
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("recipient", sa.String(64), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("resealer", sa.String(64), nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reseals")
    op.drop_table("node_rotations")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_column("queue_info", "signed_from")
    op.drop_column("audit_log", "signature")
