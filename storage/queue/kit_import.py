"""Merging a field kit's queue file into the main queue: idempotent, like sync.

A kit is a SQLite queue that `attest sync` filled where there was no connection. Its
accounts (with their original receipt times), files, node keys and withdrawal requests
are inserted with ON CONFLICT DO NOTHING, so importing the same file twice, or two kits
holding the same account, changes nothing the second time.

What a kit cannot do: plant a node key (a key that does not hash to its fingerprint, or
differs from the one this queue holds, stops the import: `storage.queue.node_rows`);
bring a clear withdrawal tag (a kit written before queue revision 0003 is refused whole,
an account sealed with a clear tag is left in the kit); or erase many accounts at once:
its withdrawal requests carry secrets, hashed here, and share one batch id, so more than
the queue's burst limit are held for an administrator (`storage.queue.withdrawals`).

A kit row whose time no reader can load (damaged on the way, or on the kit) does not stop
the import, and no account or withdrawal request is dropped for it: its times are read
tolerantly (`storage.queue.columns.tolerant_time`), a damaged submitted_at is taken again
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

from sqlalchemy import Engine, func, inspect, literal_column, select

from storage.crypto import CryptoError, withdrawal_hash
from storage.db import insert_ignore, read_connection
from storage.errors import N_
from storage.queue.audit import verify_chain
from storage.queue.columns import tolerant_time
from storage.queue.items import QueueError, sealed_of, stored_time
from storage.queue.node_rows import record_node_keys
from storage.queue.rows import carries_clear_tag, queue_row
from storage.queue.tables import NODE_ACCOUNT_COLUMNS, account_files, accounts, nodes, withdrawals
from storage.queue.withdrawals import OLD_FORMAT_BATCH, new_batch_id

log = logging.getLogger(__name__)

# The kit's account columns as read here: the node's columns, times read tolerantly, and
# whether each time column holds anything (to tell a damaged time from an empty one).
_TIMES = ("received_at", "submitted_at")
# Read from the signed metadata, not the kit's columns (a kit from before queue 0004 has
# none, and a column could say otherwise than the signature).
_FROM_METADATA = ("mode", "documenter")
_KIT_ACCOUNT = (
    *(
        accounts.c[name]
        for name in NODE_ACCOUNT_COLUMNS
        if name not in _TIMES and name not in _FROM_METADATA
    ),
    *(tolerant_time(accounts.c[name]) for name in _TIMES),
    *(accounts.c[name].isnot(None).label(f"has_{name}") for name in _TIMES),
)
_KIT_REQUEST = (
    withdrawals.c.secret,
    tolerant_time(withdrawals.c.requested_at),
)


class OldFormatKit(QueueError):
    default_message = N_(
        "This field kit was written by an older version of Attest: its accounts and "
        "withdrawal requests carry withdrawal tags in the clear, and anyone who read the "
        "kit could have added requests that erase accounts. Nothing was imported and the "
        "file is unchanged. To import it all the same, run `attest queue import "
        "--accept-old-format FILE`: its withdrawal requests are then held for an "
        "administrator, however few they are."
    )


def _old_format(source: Engine) -> bool:
    columns = {c["name"] for c in inspect(source).get_columns("accounts")}
    return "withdrawal_hash" not in columns


def _old_kit_columns() -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The account and request columns of a kit from before 0003 (clear tags), renamed."""
    account = tuple(
        literal_column("withdrawal_tag").label("withdrawal_hash")
        if getattr(column, "name", None) == "withdrawal_hash"
        else column
        for column in _KIT_ACCOUNT
    )
    request: tuple[Any, ...] = (literal_column("tag").label("secret"), _KIT_REQUEST[1])
    return account, request


def import_queue_file(
    source: Engine,
    target: Engine,
    *,
    batch_size: int = 200,
    progress: Callable[[int, int], None] | None = None,
    damaged_times: Callable[[int], None] | None = None,
    refused_old_format: Callable[[int], None] | None = None,
    accept_old_format: bool = False,
) -> tuple[int, int]:
    """Merge a field kit's queue into `target`, idempotently; (accounts, withdrawals) read.

    Accounts keep their original receipt time; tombstones stay tombstones. Reviewer
    fields of the kit are not carried over: a kit only carries accounts. Rows with a
    damaged time are imported all the same (see the module's docstring); their number
    is logged and given to `damaged_times`, if any. Accounts sealed with a clear
    withdrawal tag stay in the kit; their number is given to `refused_old_format`.
    OldFormatKit for a kit written before revision 0003, unless `accept_old_format`:
    then its accounts come in with their tags hashed, and its requests (clear tags, which
    anyone who read a queue could have copied) are all held for an administrator.
    NodeKeyConflict for a planted key.
    """
    now = datetime.now(UTC)
    damaged = refused = 0
    old = _old_format(source)
    if old and not accept_old_format:
        raise OldFormatKit()
    account_columns, request_columns = _old_kit_columns() if old else (_KIT_ACCOUNT, _KIT_REQUEST)
    with read_connection(source) as src:
        total = int(src.execute(select(func.count()).select_from(accounts)).scalar_one())
        known = {
            r.fingerprint: bytes(r.public_key)
            for r in src.execute(select(nodes.c.fingerprint, nodes.c.public_key))
        }
        with target.begin() as dst:
            record_node_keys(dst, known, now)
        done = 0
        last_id = ""
        while True:
            rows = src.execute(
                select(*account_columns)
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
            kept = [r for r in rows if accept_old_format or not _clear_tag(r.sealed)]
            refused += len(rows) - len(kept)
            carried = [_carried(r, now, hash_tag=old) for r in kept]
            damaged += sum(1 for _row, was_damaged in carried if was_damaged)
            kept_ids = {r.id for r in kept}
            file_rows = [f for f in file_rows if f["account_id"] in kept_ids]
            with target.begin() as dst:
                insert_ignore(dst, accounts, [row for row, _was_damaged in carried])
                insert_ignore(dst, account_files, file_rows)
            done += len(rows)
            last_id = ids[-1]
            if progress is not None:
                progress(done, total)
        requests = []
        # One arrival: more than the burst limit is held; an old kit's requests always are.
        batch = (OLD_FORMAT_BATCH if old else "") + new_batch_id()
        for r in src.execute(select(*request_columns).select_from(withdrawals)):
            requested_at = stored_time(r.requested_at)
            damaged += requested_at is None
            requests.append(
                {"secret": r.secret, "requested_at": requested_at or now, "batch": batch}
            )
    with target.begin() as dst:
        insert_ignore(dst, withdrawals, requests)
    if damaged:
        log.warning(
            "field kit import: %d row(s) had a damaged time; imported all the same", damaged
        )
        if damaged_times is not None:
            damaged_times(damaged)
    if refused:
        log.warning("field kit import: %d account(s) in the old format left in the kit", refused)
        if refused_old_format is not None:
            refused_old_format(refused)
    return done, len(requests)


def _clear_tag(sealed: str | None) -> bool:
    """Whether a kit row's sealed account carries a clear withdrawal tag (a tombstone does not)."""
    if sealed is None:
        return False
    try:
        return carries_clear_tag(sealed_of(sealed))
    except CryptoError:
        return False  # damaged: imported, and `review show` names what is wrong


def _mode_of(sealed: str | None) -> dict[str, Any]:
    """The mode and documenter columns from a kit row's signed metadata."""
    if sealed is None:
        return {"mode": None, "documenter": None}  # a tombstone: nothing to show
    try:
        row = queue_row(sealed_of(sealed), None)
    except CryptoError:
        return {"mode": None, "documenter": None}
    return {"mode": row["mode"], "documenter": row["documenter"]}


def _carried(row: Any, now: datetime, *, hash_tag: bool = False) -> tuple[dict[str, Any], bool]:
    """The node's columns of a kit row, and whether one of its times was damaged.

    `hash_tag`: the row comes from a kit older than 0003 and holds the clear tag.

    A kit tombstone comes without its body, and the kit's withdrawal request (imported
    too) makes it a tombstone here, with its audit entry.
    """
    carried = {
        name: getattr(row, name) for name in NODE_ACCOUNT_COLUMNS if name not in _FROM_METADATA
    }
    carried.update(_mode_of(row.sealed))
    if hash_tag and isinstance(carried["withdrawal_hash"], str):
        carried["withdrawal_hash"] = withdrawal_hash(carried["withdrawal_hash"])
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
