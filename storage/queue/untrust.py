"""Node keys untrusted after a time: which side of the cut-off an account is on.

The time compared is the queue's own: the `received` audit entry for the account, written
by a reviewer's command or a sync with rights, never a time the node signed (a thief
with the node key could sign any time). The entry counts only if it is signed by a key
the reader pinned and is not by the untrusted node itself; entries from before signed
entries (`queue_info.signed_from`) count as they are. No such entry: after the cut-off.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from storage.db import read_connection
from storage.queue import audit
from storage.queue.store import Queue
from storage.queue.tables import audit_log, node_rotations

if TYPE_CHECKING:
    from storage.crypto.rotation import Rotation


def received_before(
    queue: Queue,
    account_id: str,
    node_fingerprint: str,
    cutoff: datetime,
    trusted_reviewers: Mapping[str, bytes],
    trusted_nodes: Mapping[str, bytes],
) -> bool:
    """Whether the queue received `account_id` at or before `cutoff`, by a trusted entry."""
    nodes = {fp: key for fp, key in trusted_nodes.items() if fp != node_fingerprint}
    with read_connection(queue.engine) as conn:
        first_signed = audit.signed_from(conn)
        rows = conn.execute(
            select(audit_log)
            .where(audit_log.c.account_id == account_id, audit_log.c.action == "received")
            .order_by(audit_log.c.seq)
        ).all()
    for row in rows:
        legacy = int(row.seq) < first_signed and row.signature is None
        if not legacy:
            if row.actor == f"node:{node_fingerprint}":
                continue
            if audit.signature_problem(row, trusted_reviewers, nodes) is not None:
                continue
        try:
            at = datetime.fromisoformat(row.at).astimezone(UTC)
        except ValueError:
            continue
        return at <= cutoff
    return False


def rotations_in_queue(queue: Queue) -> list[Rotation]:
    """Every node key rotation certificate sync copied to the queue (unchecked)."""
    with read_connection(queue.engine) as conn:
        rows = conn.execute(select(node_rotations)).all()
    if not rows:
        return []  # the usual case: a listing then loads no cryptography (issue 16)
    from storage.crypto.rotation import Rotation

    return [
        Rotation(bytes(r.old_key), bytes(r.new_key), r.rotated_at, bytes(r.signature)) for r in rows
    ]
