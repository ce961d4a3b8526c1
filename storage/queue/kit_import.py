"""Merging a field kit's queue file into the main queue: idempotent, like sync.

A kit is a SQLite queue that `attest sync` filled where there was no connection. Its
accounts (with their original receipt times), files, node keys and withdrawal requests
are inserted with ON CONFLICT DO NOTHING, so importing the same file twice, or two kits
holding the same account, changes nothing the second time.

A kit row whose time no reader can load (damaged on the way, or on the kit) does not stop
the import, and no account or withdrawal request is dropped for it: its times are read
tolerantly (`storage.queue.items.tolerant_time`), a damaged submitted_at is taken again
from the signed metadata when the row still holds it (NULL otherwise: `review show` then
names the column), and a damaged received_at or requested_at, which may not be empty,
becomes the time of this import, when this queue received it. How many rows had a damaged
time is logged (a count, nothing of their content) and passed to `damaged_times`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from storage.crypto import CryptoError
from storage.db import insert_ignore, read_connection
from storage.queue.audit import verify_chain
from storage.queue.items import sealed_of, stored_time, tolerant_time
from storage.queue.tables import NODE_ACCOUNT_COLUMNS, account_files, accounts, nodes, withdrawals

log = logging.getLogger(__name__)

# The kit's account columns as read here: the node's columns, times read tolerantly, and
# whether each time column holds anything (to tell a damaged time from an empty one).
_TIMES = ("received_at", "submitted_at")
_KIT_ACCOUNT = (
    *(accounts.c[name] for name in NODE_ACCOUNT_COLUMNS if name not in _TIMES),
    *(tolerant_time(accounts.c[name]) for name in _TIMES),
    *(accounts.c[name].isnot(None).label(f"has_{name}") for name in _TIMES),
)
_KIT_REQUEST = (
    withdrawals.c.tag,
    tolerant_time(withdrawals.c.requested_at),
)


def import_queue_file(
    source: Engine,
    target: Engine,
    *,
    batch_size: int = 200,
    progress: Callable[[int, int], None] | None = None,
    damaged_times: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Merge a field kit's queue into `target`, idempotently; (accounts, withdrawals) read.

    Accounts keep their original receipt time; tombstones stay tombstones. Reviewer
    fields of the kit are not carried over: a kit only carries accounts. Rows with a
    damaged time are imported all the same (see the module's docstring); their number
    is logged and given to `damaged_times`, if any.
    """
    now = datetime.now(UTC)
    damaged = 0
    with read_connection(source) as src:
        total = int(src.execute(select(func.count()).select_from(accounts)).scalar_one())
        known = {
            r.fingerprint: bytes(r.public_key)
            for r in src.execute(select(nodes.c.fingerprint, nodes.c.public_key))
        }
        with target.begin() as dst:
            insert_ignore(
                dst,
                nodes,
                [
                    {"fingerprint": fp, "public_key": pub, "first_seen": now}
                    for fp, pub in known.items()
                ],
            )
        done = 0
        last_id = ""
        while True:
            rows = src.execute(
                select(*_KIT_ACCOUNT)
                .where(accounts.c.id > last_id)
                .order_by(accounts.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            ids = [r.id for r in rows]
            file_rows = [
                dict(r._mapping)
                for r in src.execute(
                    select(account_files).where(account_files.c.account_id.in_(ids))
                )
            ]
            carried = [_carried(r, now) for r in rows]
            damaged += sum(1 for _row, was_damaged in carried if was_damaged)
            with target.begin() as dst:
                insert_ignore(dst, accounts, [row for row, _was_damaged in carried])
                insert_ignore(dst, account_files, file_rows)
            done += len(rows)
            last_id = ids[-1]
            if progress is not None:
                progress(done, total)
        requests = []
        for r in src.execute(select(*_KIT_REQUEST)):
            requested_at = stored_time(r.requested_at)
            damaged += requested_at is None
            requests.append({"tag": r.tag, "requested_at": requested_at or now})
    with target.begin() as dst:
        insert_ignore(dst, withdrawals, requests)
    if damaged:
        log.warning(
            "field kit import: %d row(s) had a damaged time; imported all the same", damaged
        )
        if damaged_times is not None:
            damaged_times(damaged)
    return done, len(requests)


def _carried(row: Any, now: datetime) -> tuple[dict[str, Any], bool]:
    """The node's columns of a kit row, and whether one of its times was damaged.

    A kit tombstone comes without its body, and the kit's withdrawal request (imported
    too) makes it a tombstone here, with its audit entry.
    """
    carried = {name: getattr(row, name) for name in NODE_ACCOUNT_COLUMNS}
    received_at = stored_time(row.received_at)
    submitted_at = stored_time(row.submitted_at)
    damaged = received_at is None  # never empty: NOT NULL
    if submitted_at is None and row.has_submitted_at:
        damaged = True
        submitted_at = _signed_submitted_at(row.sealed)
    carried.update(received_at=received_at or now, submitted_at=submitted_at)
    return carried, damaged


def _signed_submitted_at(sealed: str | None) -> datetime | None:
    """submitted_at as the node wrote it from the signed metadata (checked on opening)."""
    if sealed is None:
        return None
    try:
        metadata = sealed_of(sealed).metadata
    except CryptoError:
        return None
    return stored_time(metadata.get("submitted_at"))


def kit_log_intact(source: Engine) -> bool:
    """Whether the kit's own audit chain verifies (a damaged one suggests changes in transit)."""
    with read_connection(source) as conn:
        return verify_chain(conn).ok
