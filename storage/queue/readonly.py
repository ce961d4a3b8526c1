"""A read-only look at a SQLite queue through the standard library's sqlite3.

`attest review list` reads a SQLite queue here when nothing has to be written first, and
so never imports SQLAlchemy, whose import alone took ~250 ms of the command's ~500 ms
(issue 16: start-up). The file is opened read-only (`mode=ro`): a wrong path creates
nothing, and no statement here can change the queue. Every read runs in one snapshot.

`open_read_only` serves only when the full path would write nothing before listing:

    the schema is at the newest revision   one query, as `admin.check_schema`
    no receipt to log, no withdrawal       the checks of `Queue.reconcile_needed`, on the
      request to examine or apply            same indexes
    no withdrawn account the reviewer      `Queue.withdrawn_while_held` tells them, once
      held and has not been told of
    no node key rotation a pin follows     `NodePins.may_follow`

Anything else (PostgreSQL, a missing or damaged file, something to write) gives None, and
the caller takes the full path, which does the work and names any problem. Like any
reader of a WAL database it may leave the queue's (empty) `-wal` and `-shm` files beside
it, owner-only as the file; the next writer's close removes them.

The listing and the count are `storage.queue.queries` (with `storage.queue.columns`)
written out in SQL: the same conditions, order and index use. A test fills random queues
and compares the two, row for row, for random filters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from storage.queue.items import (
    EARLIEST_TIME,
    LATEST_TIME,
    QueueItem,
    UnknownStatus,
    item_of,
    normal_tag,
)
from storage.queue.node_pins import NodePins
from storage.queue.place import local_sqlite_file
from storage.queue.schema import ACCEPTED, HELD, QUEUE_HEAD, STATUSES, VERSION_TABLE

_BATCH = 1000
# `audit.head` of an empty log: (0, GENESIS).
_EMPTY_CHAIN = (0, "0" * 64)
SUBMITTED = "coalesce(accounts.submitted_at, accounts.received_at)"
ORDER = f"accounts.urgent DESC, {SUBMITTED}, accounts.received_at, accounts.id"
_PENDING = (
    "EXISTS (SELECT withdrawals.secret_hash FROM withdrawals "
    "WHERE withdrawals.secret_hash = accounts.withdrawal_hash AND withdrawals.status = ?)"
)
# `columns.VISIBLE`: not withdrawn, a sealed body, no accepted withdrawal pending.
VISIBLE = (
    f"accounts.withdrawn_at IS NULL AND accounts.sealed IS NOT NULL AND NOT ({_PENDING})",
    (ACCEPTED,),
)
# What `item_of` reads; the sealed body, which a listing never shows, is not read.
_PLAIN = "id flow language channel urgent scopes mode documenter node_fingerprint status assignee"
_TIMES = ("received_at", "submitted_at", "lease_until", "withdrawn_at")


def stored_form(value: datetime) -> str:
    """A time as the queue binds it on SQLite (`storage.db.UtcDateTime`): naive UTC text."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; pass an aware one")
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


_BOUNDS = (stored_form(EARLIEST_TIME), stored_form(LATEST_TIME))
# `columns.tolerant_time`: NULL unless the stored value lies between the bounds.
_COLUMNS = ", ".join(
    [f"accounts.{name}" for name in _PLAIN.split()]
    + [
        f"CASE WHEN (accounts.{name} BETWEEN ? AND ?) THEN accounts.{name} ELSE NULL END AS {name}"
        for name in _TIMES
    ]
)
_COLUMN_PARAMS = _BOUNDS * len(_TIMES)


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


class ReadOnlyQueue:
    """A SQLite queue opened read-only; `list_accounts` and `count_accounts` as `Queue`'s."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        rows = conn.execute("SELECT queue_info.queue_id FROM queue_info").fetchall()
        # None when the queue was never set up (the full path says so).
        self.queue_id: str | None = str(rows[0][0]) if len(rows) == 1 else None

    @classmethod
    def open(cls, path: Path, *, trace: Callable[[str], object] | None = None) -> ReadOnlyQueue:
        """The queue file at `path`, read-only, in one read snapshot (sqlite3.Error if not).

        `trace` is given each statement run (tests read their query plans).
        """
        conn = sqlite3.connect(
            f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=10, isolation_level=None
        )
        try:
            if trace is not None:
                conn.set_trace_callback(trace)
            conn.execute("BEGIN")  # deferred: a read snapshot, no lock on writers
            return cls(conn)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def _all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def _first(self, sql: str, params: Sequence[object] = ()) -> Any:
        row = self._conn.execute(sql, tuple(params)).fetchone()
        return None if row is None else row[0]

    # -- may it serve? ------------------------------------------------------------------

    def at_newest_revision(self) -> bool:
        """The schema version in one query, as `admin.check_schema` reads it."""
        return bool(self._first(f"SELECT version_num FROM {VERSION_TABLE}") == QUEUE_HEAD)

    def nothing_to_write(self, reviewer: str | None) -> bool:
        """No receipt to log, no withdrawal to examine or apply, nothing to tell `reviewer`."""
        if self._first("SELECT accounts.id FROM accounts WHERE receipt_logged = false LIMIT 1"):
            return False
        unexamined = "SELECT withdrawals.secret FROM withdrawals WHERE withdrawals.status IS NULL"
        if self._all(unexamined + " LIMIT 1"):
            return False
        for hashes in self._accepted_hashes():
            pending = (
                f"SELECT accounts.id FROM accounts WHERE accounts.withdrawal_hash IN "
                f"({_marks(hashes)}) AND accounts.withdrawn_at IS NULL LIMIT 1"
            )
            if self._all(pending, hashes):
                return False
        if reviewer is not None:
            held = (
                "SELECT accounts.id FROM accounts WHERE accounts.assignee = ? "
                "AND accounts.withdrawn_at IS NOT NULL LIMIT 1"
            )
            if self._all(held, (reviewer,)):
                return False
        return True

    def _accepted_hashes(self) -> list[list[str]]:
        """The hashes of accepted withdrawal requests, in batches for an IN list."""
        hashes = [
            str(r[0])
            for r in self._all(
                "SELECT withdrawals.secret_hash FROM withdrawals WHERE withdrawals.status = ? "
                "AND withdrawals.secret_hash IS NOT NULL",
                (ACCEPTED,),
            )
        ]
        return [hashes[start : start + _BATCH] for start in range(0, len(hashes), _BATCH)]

    def rotations(self) -> list[tuple[bytes, bytes]]:
        """(old key, new key) of every node key rotation sync copied here (unchecked)."""
        rows = self._all(
            "SELECT node_rotations.old_key, node_rotations.new_key FROM node_rotations"
        )
        return [(bytes(old), bytes(new)) for old, new in rows]

    def node_rows(self, fingerprints: Sequence[str]) -> list[tuple[str, bytes]]:
        """(fingerprint column, key as stored) under these fingerprints (`Queue.node_rows`)."""
        wanted = sorted(set(fingerprints))
        if not wanted:
            return []
        rows = self._all(
            "SELECT nodes.fingerprint, nodes.public_key FROM nodes "
            f"WHERE nodes.fingerprint IN ({_marks(wanted)})",
            wanted,
        )
        return [(str(fingerprint), bytes(key)) for fingerprint, key in rows]

    def held_count(self) -> int:
        """How many withdrawal requests are held for an administrator."""
        held = "SELECT count(*) FROM withdrawals WHERE withdrawals.status = ?"
        return int(self._first(held, (HELD,)))

    def waiting_count(self) -> int:
        """How many accepted withdrawal requests name no account in the queue (yet)."""
        waiting = (
            "SELECT count(*) FROM withdrawals WHERE withdrawals.status = ? AND NOT EXISTS "
            "(SELECT 1 FROM accounts WHERE accounts.withdrawal_hash = withdrawals.secret_hash)"
        )
        return int(self._first(waiting, (ACCEPTED,)))

    # -- the audit chain's end, for the witness (`storage.queue.witness.ChainEnd`) ------

    def head(self) -> tuple[int, str]:
        row = self._conn.execute(
            "SELECT audit_log.seq, audit_log.hash FROM audit_log "
            "ORDER BY audit_log.seq DESC LIMIT 1"
        ).fetchone()
        return _EMPTY_CHAIN if row is None else (int(row[0]), str(row[1]))

    def hash_at(self, seq: int) -> str | None:
        found = self._first("SELECT audit_log.hash FROM audit_log WHERE audit_log.seq = ?", (seq,))
        return None if found is None else str(found)

    # -- the listing (`storage.queue.queries.QueueListing`) -----------------------------

    def list_accounts(
        self,
        *,
        status: str | None = None,
        urgent_only: bool = False,
        tag: str | None = None,
        limit: int | None = 50,
        include_closed: bool = True,
        assignee: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        language: str | None = None,
        mode: str | None = None,
        documenter: str | None = None,
    ) -> list[QueueItem]:
        """Accounts not withdrawn, urgent first, then by submission time (`Queue.list_accounts`)."""
        where, params = _filtered(
            VISIBLE,
            status=status,
            urgent_only=urgent_only,
            tag=tag,
            include_closed=include_closed,
            assignee=assignee,
            since=since,
            until=until,
            language=language,
            mode=mode,
            documenter=documenter,
        )
        sql = f"SELECT {_COLUMNS} FROM accounts WHERE {where} ORDER BY {ORDER}"
        if limit:
            sql, params = f"{sql} LIMIT ?", [*params, limit]
        cursor = self._conn.execute(sql, (*_COLUMN_PARAMS, *params))
        names = [d[0] for d in cursor.description]
        rows = [SimpleNamespace(**dict(zip(names, row, strict=True))) for row in cursor]
        tags = self._tags([r.id for r in rows])
        return [item_of(r, tags.get(r.id, ())) for r in rows]

    def count_accounts(self, **filters: Any) -> int:
        """How many `list_accounts(**filters)` would list without a limit, from indexes only.

        `Queue.count_accounts`' arithmetic: rows not withdrawn, less those without a sealed
        body, less those an accepted withdrawal names that is not applied yet.
        """
        filters.pop("limit", None)

        def counted(rows: str, params: Sequence[object] = ()) -> int:
            where, bound = _filtered((rows, tuple(params)), **filters)
            return int(self._first(f"SELECT count(*) FROM accounts WHERE {where}", bound))

        not_withdrawn = "accounts.withdrawn_at IS NULL"
        total = counted(not_withdrawn) - counted("sealed IS NULL AND withdrawn_at IS NULL")
        for hashes in self._accepted_hashes():
            total -= counted(
                f"{not_withdrawn} AND accounts.sealed IS NOT NULL AND accounts.withdrawal_hash "
                f"IN ({_marks(hashes)})",
                hashes,
            )
        return total

    def _tags(self, ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for start in range(0, len(ids), _BATCH):
            batch = ids[start : start + _BATCH]
            rows = self._all(
                "SELECT account_tags.account_id, account_tags.tag FROM account_tags "
                f"WHERE account_tags.account_id IN ({_marks(batch)})",
                batch,
            )
            for account_id, tag in rows:
                found.setdefault(account_id, []).append(tag)
        return found


def _filtered(
    visible: tuple[str, Sequence[object]],
    *,
    status: str | None = None,
    urgent_only: bool = False,
    tag: str | None = None,
    include_closed: bool = True,
    assignee: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    language: str | None = None,
    mode: str | None = None,
    documenter: str | None = None,
) -> tuple[str, list[object]]:
    """`QueueListing._filtered` as SQL text and its parameters, condition for condition."""
    if status is not None and status not in STATUSES:
        raise UnknownStatus()
    conditions, params = [visible[0]], list(visible[1])

    def where(condition: str, *values: object) -> None:
        conditions.append(condition)
        params.extend(values)

    if status is not None:
        where("accounts.status = ?", status)
    elif not include_closed:
        where("accounts.status != ?", "closed")
    if urgent_only:
        where("accounts.urgent IS 1")
    if tag is not None:
        where(
            "accounts.id IN (SELECT account_tags.account_id FROM account_tags "
            "WHERE account_tags.tag = ?)",
            normal_tag(tag),
        )
    if assignee is not None:
        where("accounts.assignee = ?", assignee)
    if since is not None:
        where(f"{SUBMITTED} >= ?", stored_form(since))
    if until is not None:
        where(f"{SUBMITTED} < ?", stored_form(until))
    if language is not None:
        where("accounts.language = ?", language)
    if mode == "survivor":  # rows from before the documenter columns carry no mode
        where("(accounts.mode = ? OR accounts.mode IS NULL)", mode)
    elif mode is not None:
        where("accounts.mode = ?", mode)
    if documenter is not None:
        where("accounts.documenter = ?", documenter)
    return " AND ".join(conditions), params


def open_read_only(
    url: str, *, reviewer: str | None = None, pins: NodePins | None = None
) -> ReadOnlyQueue | None:
    """The SQLite queue at `url` read-only, when it may serve a listing; else None.

    `reviewer`: the fingerprint the configured key states (a withdrawn account they held
    must be told, which writes); `pins`: the reviewer's pinned node keys (a rotation they
    would follow is pinned by the full path).
    """
    path = local_sqlite_file(url)
    if path is None or not path.is_file():
        return None
    try:
        view = ReadOnlyQueue.open(path)
    except sqlite3.Error:
        return None
    try:
        serves = (
            view.queue_id is not None
            and view.at_newest_revision()
            and view.nothing_to_write(reviewer)
            and (pins is None or not pins.may_follow(view.rotations()))
        )
    except sqlite3.Error:
        serves = False
    if not serves:
        view.close()
        return None
    return view


__all__ = ["ReadOnlyQueue", "open_read_only"]
