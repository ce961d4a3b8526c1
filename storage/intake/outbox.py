"""The outbox: sealed accounts waiting for sync, and withdrawals against them.

An account's row holds the SealedAccount in columns (`outbox_row` / `sealed_from_row`).
Its plaintext metadata is what the queue shows before anyone opens it, signed by the node.
A withdrawal names a reference code. The node derives the withdrawal secret from it (an
HMAC under the node's secret); an account carries only the secret's one-way hash
(`withdrawal_hash`, signed), and a withdrawal request carries the secret, which the queue
hashes to find the account. If the account is still in this node's outbox it is deleted
here with its files; a request is kept either way, because sync may already have copied
the account to the queue.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, delete, func, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from flows.types import FinishedAccount
from storage.crypto import NodeKeys, SealedAccount, withdrawal_hash
from storage.db import read_connection
from storage.errors import CorruptData
from storage.intake.tables import (
    files,
    outbox,
    sent_codes,
    withdrawal_attempts,
    withdrawal_requests,
)
from storage.intake.writer import AfterCommit

WithdrawalOutcome = Literal["removed", "requested", "rate-limited"]
WITHDRAWAL_LIMIT = 5  # attempts per respondent ...
WITHDRAWAL_WINDOW = timedelta(hours=1)  # ... in this window


def insert_ignore(conn: Connection, table: Any, values: dict[str, Any]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING; how many rows went in (0 or 1)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports -1 for a skipped row under SQLAlchemy 2.1.
    key = next(iter(table.primary_key.columns))
    return 0 if conn.execute(statement.returning(key)).first() is None else 1


def account_metadata(node: NodeKeys, account: FinishedAccount, channel: str) -> dict[str, Any]:
    """The plaintext, signed metadata the queue shows before anyone opens the account."""
    return {
        "flow": account.flow,
        "flow_version": account.flow_version,
        "language": account.language,
        "channel": channel,
        "urgent": account.urgent,
        "scopes": dict(account.consent.scopes),
        "started_at": account.started_at.isoformat() if account.started_at else None,
        "submitted_at": account.submitted_at.isoformat(),
        "withdrawal_hash": withdrawal_hash(node.withdrawal_secret(account.reference_code)),
        **({"mode": account.mode, "documenter": account.documenter} if account.documenter else {}),
    }


def recent_attempts(conn: Connection, respondent: str, now: datetime) -> int:
    """How many withdrawal attempts this person made within the window before `now`."""
    counted = conn.execute(
        select(func.count())
        .select_from(withdrawal_attempts)
        .where(
            withdrawal_attempts.c.respondent == respondent,
            withdrawal_attempts.c.attempted_at > now - WITHDRAWAL_WINDOW,
        )
    ).scalar_one()
    return int(counted)


def sent_by_this_node(conn: Connection, node: NodeKeys, code: str) -> bool:
    """Whether this node sealed an account with `code` (its digest is kept, or it is still
    in the outbox: sealed before the digests were kept)."""
    digest = node.sent_code_digest(code)
    found = conn.execute(
        select(sent_codes.c.code_digest).where(sent_codes.c.code_digest == digest)
    ).first()
    if found is None:
        secret = node.withdrawal_secret(code)
        found = conn.execute(
            select(outbox.c.account_id).where(
                outbox.c.withdrawal_tag.in_((withdrawal_hash(secret), secret))
            )
        ).first()
    return found is not None


def record_withdrawal(
    conn: Connection,
    after: AfterCommit,
    *,
    node: NodeKeys,
    file_path: Any,
    respondent: str,
    code: str,
    now: datetime,
) -> WithdrawalOutcome:
    """Rate-limit, then delete a matching outbox account and keep a request for sync.

    A code this node sent is recorded even at the limit (the limit slows the guessing of
    codes, and a person who mistyped five times must not be kept from a genuine
    withdrawal); it still counts as an attempt. `file_path(file_id) -> Path` names an
    encrypted file on disk, unlinked after commit.
    """
    limited = recent_attempts(conn, respondent, now) >= WITHDRAWAL_LIMIT
    if limited and not sent_by_this_node(conn, node, code):
        return "rate-limited"
    conn.execute(insert(withdrawal_attempts).values(respondent=respondent, attempted_at=now))
    secret = node.withdrawal_secret(code)
    # The request keeps the secret until sync hands it over (column name from before).
    insert_ignore(conn, withdrawal_requests, {"withdrawal_tag": secret, "created_at": now})
    # An outbox row keeps the hash; one sealed before the hashing keeps the clear tag,
    # which is the secret itself.
    matches = (withdrawal_hash(secret), secret)
    accounts = list(
        conn.execute(
            select(outbox.c.account_id).where(outbox.c.withdrawal_tag.in_(matches))
        ).scalars()
    )
    if not accounts:
        return "requested"
    account_files = list(
        conn.execute(select(files.c.file_id).where(files.c.account_id.in_(accounts))).scalars()
    )
    conn.execute(delete(files).where(files.c.account_id.in_(accounts)))
    conn.execute(delete(outbox).where(outbox.c.account_id.in_(accounts)))
    paths: list[Path] = [file_path(f) for f in account_files]
    after.unlink.extend(paths)
    after.checkpoint = True
    return "removed"


def outbox_row(sealed: SealedAccount, now: datetime) -> dict[str, Any]:
    """An outbox row for a sealed account (see `sealed_from_row` for the way back)."""
    document = sealed.to_dict()
    return {
        "account_id": sealed.account_id,
        "node_fingerprint": sealed.node_fingerprint,
        "metadata_json": json.dumps(document["metadata"], sort_keys=True, ensure_ascii=False),
        "recipients_json": json.dumps(document["recipients"], sort_keys=True),
        "body": sealed.body,
        "signature": sealed.signature,
        "withdrawal_tag": sealed.metadata.get("withdrawal_hash"),
        "created_at": now,
    }


def sealed_from_row(row: Any) -> SealedAccount:
    """The SealedAccount of an outbox row (for sync); CorruptData if the row is damaged."""
    try:
        metadata = json.loads(row.metadata_json)
        recipients = json.loads(row.recipients_json)
    except ValueError:
        raise CorruptData("The outbox row's metadata or recipients are damaged.") from None
    return SealedAccount.from_dict(
        {
            "version": 1,
            "account_id": row.account_id,
            "metadata": metadata,
            "recipients": recipients,
            "body": base64.b64encode(row.body).decode("ascii"),
            "node_fingerprint": row.node_fingerprint,
            "signature": base64.b64encode(row.signature).decode("ascii"),
        }
    )


def sealed_only_to_others(engine: Engine, fingerprints: Collection[str]) -> int | None:
    """How many accounts waiting in the outbox no key in `fingerprints` opens.

    For `attest keys list` and `attest sync`: accounts sealed only to keys the node no
    longer seals to (the demo key once a real one was added, a removed key) cannot be
    opened by the current reviewers. Reads only the recipients' fingerprints. None when
    the store cannot be read (the caller says nothing rather than fail).
    """
    wanted = set(fingerprints)
    try:
        if not inspect(engine).has_table(outbox.name):
            return 0
        with read_connection(engine) as conn:
            rows = conn.execute(select(outbox.c.recipients_json)).scalars().all()
    except SQLAlchemyError:
        return None
    count = 0
    for recipients_json in rows:
        try:
            recipients = json.loads(recipients_json)
        except ValueError:
            continue  # sync refuses a damaged row with its own message
        if isinstance(recipients, dict) and not wanted.intersection(recipients):
            count += 1
    return count
