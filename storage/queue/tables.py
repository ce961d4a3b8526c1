"""The reviewer queue's tables (SQLAlchemy Core), shared by the queue, sync and audit.

Who may write what (PostgreSQL grants, see `storage/queue/admin.py`):

    nodes, accounts, account_files, withdrawals   the node's role: INSERT only; on
                                                  `accounts` only the columns it signs, on
                                                  `withdrawals` only secret, time, batch
    nodes                                         reviewers: SELECT only
    reseals                                       reviewers: SELECT, INSERT, DELETE
    everything else, and every UPDATE / DELETE    reviewers and administrators

An account carries only the one-way hash of its withdrawal secret (`withdrawal_hash`); a
withdrawal request carries the secret, and matches by hashing (`storage.queue.withdrawals`).
A withdrawn account keeps a tombstone row: id, times, withdrawal hash; `sealed`, the
plaintext metadata columns, its files, tags and notes are gone. Times are UTC; audit
times are stored as ISO text because the text is what the hash chain covers.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)

from storage.db import UtcDateTime
from storage.queue.schema import STATUSES as STATUSES

metadata = MetaData()

# One row: the queue's random id, so a reviewer's outside copy of the audit head
# (the witness file) is kept per queue.
queue_info = Table(
    "queue_info",
    metadata,
    Column("queue_id", String(32), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    # The first audit entry that must be signed (set when revision 0006 ran).
    Column("signed_from", Integer, nullable=False, server_default=text("1")),
)

# Node signing keys seen by sync. Seeing a key is not trusting it: reviewers pin keys
# in their own trusted-nodes file; this table only lets them pin by fingerprint, and a
# row is used only when its key hashes to its fingerprint (on PostgreSQL a CHECK refuses
# any other row, see migration 0003).
nodes = Table(
    "nodes",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
)

# Node signing-key rotations as sync copied them from the node key file: the old key's
# signature over the new one (`storage.crypto.rotation`). Reviewers follow one only when
# it verifies under a key they pinned and did not untrust.
node_rotations = Table(
    "node_rotations",
    metadata,
    Column("new_fingerprint", String(64), primary_key=True),
    Column("new_key", LargeBinary, nullable=False),
    Column("old_key", LargeBinary, nullable=False),
    Column("rotated_at", String(40), nullable=False),
    Column("signature", LargeBinary, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime),
    # Copied from the signed metadata so the queue can sort and filter; `review show`
    # checks them against the signature, so an edited column is caught.
    Column("flow", String(64)),
    Column("language", String(16)),
    Column("channel", String(32)),
    Column("urgent", Boolean, nullable=False, server_default=text("false")),
    Column("scopes", Text),  # JSON of the signed consent scopes
    # "survivor" or "documenter", and the documenter's pseudonym (a random-looking id from
    # the invite, never a name), from the signed metadata.
    Column("mode", String(16)),
    Column("documenter", String(32)),
    Column("withdrawal_hash", String(128)),  # withdrawal_hash(secret), from the signed metadata
    Column("node_fingerprint", String(64)),
    Column("sealed", Text),  # SealedAccount.to_dict() as JSON; NULL once withdrawn
    # Reviewer fields: never writable by the node's role.
    Column("status", String(16), nullable=False, server_default=text("'new'")),
    Column("assignee", String(64)),
    Column("lease_until", UtcDateTime),
    Column("updated_at", UtcDateTime),
    Column("withdrawn_at", UtcDateTime),
    Column("receipt_logged", Boolean, nullable=False, server_default=text("false")),
)
# The listing and claim order: urgent first, then by the time the person sent the
# account (the sync time where a node left it empty), then received, then id (0004).
SUBMITTED = func.coalesce(accounts.c.submitted_at, accounts.c.received_at)
Index(
    "ix_accounts_order", accounts.c.urgent.desc(), SUBMITTED, accounts.c.received_at, accounts.c.id
)
Index(
    "ix_accounts_status_order",
    accounts.c.status,
    accounts.c.urgent.desc(),
    SUBMITTED,
    accounts.c.received_at,
    accounts.c.id,
)
# Claims look only at open accounts; without this index a claim walks past every closed one.
OPEN_ACCOUNTS = text("status IN ('new', 'in-review')")
# Receipts not yet logged: almost always none. A plain index of the boolean had one value
# once receipts were logged, and the planner scanned the table through it.
UNLOGGED = text("receipt_logged = false")
# What `review list` counts ("showing N of M"): every column a listing filter reads, and
# withdrawn_at, so a count never reads the table (migration 0007).
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
Index("ix_accounts_visible", *(accounts.c[name] for name in VISIBLE_COLUMNS))
# Rows not withdrawn yet without a sealed body (a node's bad insert): none, normally.
UNSEALED = text("sealed IS NULL AND withdrawn_at IS NULL")


def partial_indexes() -> tuple[Index, ...]:
    """The partial indexes of `accounts` (made by migrations 0002 and 0007).

    Declared on demand, not at import: an index's `postgresql_where` makes SQLAlchemy load
    the whole PostgreSQL dialect, and every command imports these tables (issue 16: start-
    up time). Tests add them to the metadata they compare.
    """
    existing = {str(i.name): i for i in accounts.indexes}
    if "ix_accounts_claimable" in existing:
        return tuple(
            existing[name]
            for name in (
                "ix_accounts_claimable",
                "ix_accounts_receipt_unlogged",
                "ix_accounts_unsealed",
            )
        )
    return (
        Index(
            "ix_accounts_claimable",
            accounts.c.urgent.desc(),
            SUBMITTED,
            accounts.c.received_at,
            accounts.c.id,
            sqlite_where=OPEN_ACCOUNTS,
            postgresql_where=OPEN_ACCOUNTS,
        ),
        Index(
            "ix_accounts_receipt_unlogged",
            accounts.c.received_at,
            accounts.c.id,
            sqlite_where=UNLOGGED,
            postgresql_where=UNLOGGED,
        ),
        Index(
            "ix_accounts_unsealed",
            accounts.c.id,
            sqlite_where=UNSEALED,
            postgresql_where=UNSEALED,
        ),
    )


Index("ix_accounts_withdrawal_hash", accounts.c.withdrawal_hash)
# The desk's listing (storage/queue/listing.py): every column it filters on, in the
# queue's order, so paging, totals and counts read this index and never the rows, whose
# sealed bodies would make each a walk through its overflow pages.
Index(
    "ix_accounts_listing",
    accounts.c.urgent.desc(),
    accounts.c.received_at,
    accounts.c.id,
    accounts.c.status,
    accounts.c.withdrawn_at,
    accounts.c.withdrawal_hash,
    accounts.c.language,
    accounts.c.flow,
    accounts.c.assignee,
)
Index("ix_accounts_documenter", accounts.c.documenter)

# Columns the node's role may set when it inserts an account.
NODE_ACCOUNT_COLUMNS: tuple[str, ...] = (
    "id",
    "received_at",
    "submitted_at",
    "flow",
    "language",
    "channel",
    "urgent",
    "scopes",
    "mode",
    "documenter",
    "withdrawal_hash",
    "node_fingerprint",
    "sealed",
)

account_files = Table(
    "account_files",
    metadata,
    Column("account_id", String(64), ForeignKey("accounts.id"), primary_key=True),
    Column("file_id", String(64), primary_key=True),
    Column("kind", String(32)),
    Column("mime_type", String(128)),
    Column("size", Integer),
    Column("data", LargeBinary, nullable=False),  # encrypted as the node stored it
)

# A withdrawal request. The node's role sets secret, requested_at and batch (one per sync
# or import); the rest is decided by the next reviewer or administrator command:
# status NULL (not looked at yet), 'accepted' (applies, now or when its account arrives)
# or 'held' (part of a burst, waiting for `attest queue withdrawals confirm|reject`).
withdrawals = Table(
    "withdrawals",
    metadata,
    Column("secret", String(128), primary_key=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("batch", String(32)),
    Column("secret_hash", String(64)),  # withdrawal_hash(secret), computed by the queue
    Column("status", String(16)),
)
Index("ix_withdrawals_secret_hash", withdrawals.c.secret_hash)
Index("ix_withdrawals_status", withdrawals.c.status)

# Columns the node's role may set when it inserts a withdrawal request.
NODE_WITHDRAWAL_COLUMNS: tuple[str, ...] = ("secret", "requested_at", "batch")

account_tags = Table(
    "account_tags",
    metadata,
    Column("account_id", String(64), ForeignKey("accounts.id"), primary_key=True),
    Column("tag", String(64), primary_key=True),
)
Index("ix_account_tags_tag", account_tags.c.tag, account_tags.c.account_id)

# Notes are encrypted under the account's own content key, so exactly the reviewers
# the account was sealed to can read them.
account_notes = Table(
    "account_notes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(64), ForeignKey("accounts.id"), nullable=False),
    Column("author", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
)
Index("ix_account_notes_account", account_notes.c.account_id)

# An account's content key wrapped for a reviewer key the node did not seal to, signed by
# the reviewer who resealed it (`storage.crypto.reseal`). The account row, and the node's
# signature over its original recipients, are never touched.
reseals = Table(
    "reseals",
    metadata,
    Column("account_id", String(64), ForeignKey("accounts.id"), primary_key=True),
    Column("recipient", String(64), primary_key=True),
    Column("wrapped", LargeBinary, nullable=False),
    Column("resealer", String(64), nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(32), nullable=False),
    Column("account_id", String(64)),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("signature", Text),  # base64 Ed25519 by the actor (storage.queue.audit)
)
Index("ix_audit_account", audit_log.c.account_id)

# Tables the node's role may insert into.
NODE_TABLES: tuple[str, ...] = (
    "nodes",
    "accounts",
    "account_files",
    "withdrawals",
    "node_rotations",
)
