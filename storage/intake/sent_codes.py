"""What the node keeps of the accounts it sent: enough to tell a mistyped code from its own.

A person who withdraws is told the request is recorded only for a code that can match an
account (flows/withdrawal.py). The node cannot open what it sent, and sync empties its
outbox, so it keeps one thing per account: `NodeKeys.sent_code_digest` of the reference
code, an HMAC under the node's secret with a label of its own. Not the code, which would
withdraw the account; not the queue's `withdrawal_hash`, so a copy of this store cannot
be joined with a copy of the queue without the node's key; no time and no respondent, so
it says nothing about who sent what, or when.

Looking a code up is a withdrawal attempt like any other: a code that matches nothing
here counts towards the per-person limit (storage/intake/outbox.py), and past the limit
it is refused. A code that matches goes through even past the limit and counts when its
request is recorded, with the turn (docs/threat-model.md, "Guessing codes").
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, insert

from storage.crypto import NodeKeys
from storage.intake.outbox import (
    WITHDRAWAL_LIMIT,
    insert_ignore,
    recent_attempts,
    sent_by_this_node,
)
from storage.intake.tables import sent_codes, withdrawal_attempts

CodeCheck = Literal["sent", "unknown", "rate-limited"]


def remember_sent_code(conn: Connection, node: NodeKeys, code: str) -> None:
    """Keep the digest of the code of an account being sealed (in the same transaction)."""
    insert_ignore(conn, sent_codes, {"code_digest": node.sent_code_digest(code)})


def check_withdrawal_code(
    conn: Connection, *, node: NodeKeys, respondent: str, code: str, now: datetime
) -> CodeCheck:
    """Whether this node sent an account with `code`: "sent", "unknown" or "rate-limited".

    "sent" also for an account still in the outbox (sealed before the digests were kept),
    and also when the person is at the limit: a code that matches is not a guess. Every
    look-up costs the same: the code is always looked up, and one that matches nothing
    counts as an attempt, at the limit too ("rate-limited" then instead of "unknown"); a
    code that matches counts when its request is recorded. Records nothing else.
    """
    limited = recent_attempts(conn, respondent, now) >= WITHDRAWAL_LIMIT
    if sent_by_this_node(conn, node, code):
        return "sent"
    conn.execute(insert(withdrawal_attempts).values(respondent=respondent, attempted_at=now))
    return "rate-limited" if limited else "unknown"
