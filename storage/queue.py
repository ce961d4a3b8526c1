"""The reviewer queue: list, claim, release, triage, read sealed accounts, apply withdrawals.

Every change writes its audit entry in the same transaction (`storage.audit`), always as
the transaction's last statement, so the chain lock is never held while waiting for a row.

Claims never hand out an account another reviewer holds: one statement both picks and
takes the next account (`UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING id` on PostgreSQL; on SQLite the same UPDATE ... RETURNING inside BEGIN
IMMEDIATE, which holds the database's single write lock). `locking=False` exists only so
a test can show that the naive read-then-write version does hand out duplicates.

Withdrawn accounts become tombstones: `reconcile` (run before every reviewer command)
applies pending withdrawal requests, deleting the sealed body, files, tags and notes.
Listing and export also skip any account a pending request names, so a withdrawal counts
from the moment it reaches the queue.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from storage import audit
from storage.crypto import SealedAccount
from storage.db import checkpoint_wal
from storage.errors import N_, StorageError
from storage.queue_admin import open_queue, queue_id
from storage.queue_tables import (
    STATUSES,
    account_files,
    account_notes,
    account_tags,
    accounts,
    nodes,
    withdrawals,
)

DEFAULT_LEASE = timedelta(minutes=30)
_BATCH = 1000


class QueueError(StorageError):
    """A reviewer action on the queue cannot be done; the message says why."""


class AccountNotFound(QueueError):
    default_message = N_("There is no account with that id in the queue.")


class AccountWithdrawn(QueueError):
    default_message = N_(
        "This account was withdrawn by the person who gave it. Only its tombstone remains."
    )


class HeldByAnother(QueueError):
    default_message = N_(
        "Another reviewer holds this account right now. Pick another one, or wait until "
        "their lease ends."
    )


class NotHeld(QueueError):
    default_message = N_("You do not hold this account, so there is nothing to release.")


class UnknownStatus(QueueError):
    default_message = N_(
        "Unknown status. Use one of: new, in-review, follow-up, referred, verified, closed."
    )


@dataclass(frozen=True)
class QueueItem:
    """What the queue shows of an account without opening it."""

    account_id: str
    received_at: datetime
    submitted_at: datetime | None
    flow: str | None
    language: str | None
    channel: str | None
    urgent: bool
    scopes: dict[str, str]
    status: str
    assignee: str | None
    lease_until: datetime | None
    node_fingerprint: str | None
    withdrawn_at: datetime | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredAccount:
    """A sealed account as the queue holds it, with the ids of its encrypted files."""

    item: QueueItem
    sealed: SealedAccount
    file_ids: tuple[str, ...]


@dataclass(frozen=True)
class StoredNote:
    note_id: str
    author: str
    created_at: datetime
    sealed: bytes


def reviewer_actor(fingerprint: str) -> str:
    return f"reviewer:{fingerprint}"


def _item(row: Any, tags: Sequence[str] = ()) -> QueueItem:
    return QueueItem(
        account_id=row.id,
        received_at=row.received_at,
        submitted_at=row.submitted_at,
        flow=row.flow,
        language=row.language,
        channel=row.channel,
        urgent=bool(row.urgent),
        scopes=json.loads(row.scopes) if row.scopes else {},
        status=row.status,
        assignee=row.assignee,
        lease_until=row.lease_until,
        node_fingerprint=row.node_fingerprint,
        withdrawn_at=row.withdrawn_at,
        tags=tuple(sorted(tags)),
    )


_PENDING_WITHDRAWAL = exists(
    select(withdrawals.c.tag).where(withdrawals.c.tag == accounts.c.withdrawal_tag)
)
_VISIBLE = and_(
    accounts.c.withdrawn_at.is_(None), accounts.c.sealed.isnot(None), ~_PENDING_WITHDRAWAL
)
_ORDER = (accounts.c.urgent.desc(), accounts.c.received_at, accounts.c.id)


class Queue:
    """The queue behind one engine; `clock` and `lease` are injectable for tests."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.lease = lease
        self.clock = clock
        self._queue_id: str | None = None

    @classmethod
    def open(cls, url: str, **kwargs: Any) -> Queue:
        return cls(open_queue(url), **kwargs)

    @property
    def queue_id(self) -> str:
        if self._queue_id is None:
            self._queue_id = queue_id(self.engine)
        return self._queue_id

    def close(self) -> None:
        self.engine.dispose()

    # -- receipts and withdrawals (reviewer or administrator rights) ------------------

    def reconcile(self) -> tuple[int, int]:
        """Log receipts of newly synced accounts, then apply withdrawals; (receipts, withdrawn)."""
        receipts = 0
        while True:
            with self.engine.begin() as conn:
                rows = conn.execute(
                    select(accounts.c.id, accounts.c.node_fingerprint)
                    .where(accounts.c.receipt_logged.is_(False))
                    .order_by(accounts.c.received_at, accounts.c.id)
                    .limit(_BATCH)
                ).all()
                if not rows:
                    break
                ids = [r.id for r in rows]
                conn.execute(
                    update(accounts).where(accounts.c.id.in_(ids)).values(receipt_logged=True)
                )
                audit.append_many(
                    conn,
                    [(f"node:{r.node_fingerprint}", "received", r.id, {}) for r in rows],
                    self.clock(),
                )
                receipts += len(rows)
        return receipts, self.apply_withdrawals()

    def apply_withdrawals(self) -> int:
        """Turn every account a withdrawal request names into a tombstone; how many."""
        now = self.clock()
        with self.engine.begin() as conn:
            ids = list(
                conn.execute(
                    select(accounts.c.id)
                    .where(accounts.c.withdrawn_at.is_(None), _PENDING_WITHDRAWAL)
                    .order_by(accounts.c.id)
                ).scalars()
            )
            if not ids:
                return 0
            entries: list[tuple[str, str, str | None, dict[str, Any]]] = []
            for account_id in ids:
                exported = audit.count_actions(conn, account_id, "exported")
                for table in (account_files, account_tags, account_notes):
                    conn.execute(delete(table).where(table.c.account_id == account_id))
                conn.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id)
                    .values(
                        sealed=None,
                        flow=None,
                        language=None,
                        channel=None,
                        scopes=None,
                        urgent=False,
                        status="closed",
                        assignee=None,
                        lease_until=None,
                        withdrawn_at=now,
                        updated_at=now,
                    )
                )
                # Exports made before the withdrawal cannot be recalled by the queue; the
                # count points reviewers to the "exported" entries to follow up.
                entries.append(("admin", "withdrawn", account_id, {"exported_before": exported}))
            audit.append_many(conn, entries, now)
        # Push the overwritten pages out of SQLite's WAL as well.
        checkpoint_wal(self.engine)
        return len(ids)

    # -- reading -----------------------------------------------------------------------

    def list(
        self,
        *,
        status: str | None = None,
        urgent_only: bool = False,
        tag: str | None = None,
        limit: int | None = 50,
    ) -> list[QueueItem]:
        """Accounts not withdrawn, urgent first, then oldest first."""
        if status is not None and status not in STATUSES:
            raise UnknownStatus()
        query = select(accounts).where(_VISIBLE)
        if status is not None:
            query = query.where(accounts.c.status == status)
        if urgent_only:
            query = query.where(accounts.c.urgent.is_(True))
        if tag is not None:
            query = query.where(
                accounts.c.id.in_(
                    select(account_tags.c.account_id).where(account_tags.c.tag == tag)
                )
            )
        query = query.order_by(*_ORDER)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            tags = self._tags(conn, [r.id for r in rows])
        return [_item(r, tags.get(r.id, ())) for r in rows]

    def _tags(self, conn: Connection, ids: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for start in range(0, len(ids), _BATCH):
            rows = conn.execute(
                select(account_tags).where(
                    account_tags.c.account_id.in_(ids[start : start + _BATCH])
                )
            )
            for row in rows:
                found.setdefault(row.account_id, []).append(row.tag)
        return found

    def item(self, account_id: str) -> QueueItem:
        """The queue row, tombstones included; AccountNotFound if absent."""
        with self.engine.connect() as conn:
            row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
            if row is None:
                raise AccountNotFound()
            return _item(row, self._tags(conn, [account_id]).get(account_id, ()))

    def get(self, account_id: str) -> StoredAccount:
        """The sealed account; AccountNotFound, or AccountWithdrawn for a tombstone."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(accounts, _PENDING_WITHDRAWAL.label("pending")).where(
                    accounts.c.id == account_id
                )
            ).first()
            if row is None:
                raise AccountNotFound()
            if row.sealed is None or row.withdrawn_at is not None or row.pending:
                raise AccountWithdrawn()
            file_ids = conn.execute(
                select(account_files.c.file_id)
                .where(account_files.c.account_id == account_id)
                .order_by(account_files.c.file_id)
            ).scalars()
            tags = self._tags(conn, [account_id]).get(account_id, ())
            return StoredAccount(
                _item(row, tags), SealedAccount.from_dict(json.loads(row.sealed)), tuple(file_ids)
            )

    def file_data(self, account_id: str, file_id: str) -> bytes | None:
        with self.engine.connect() as conn:
            data = conn.execute(
                select(account_files.c.data).where(
                    account_files.c.account_id == account_id, account_files.c.file_id == file_id
                )
            ).scalar_one_or_none()
        return None if data is None else bytes(data)

    def exportable(self) -> Iterator[StoredAccount]:
        """Every account not withdrawn, oldest first, streamed."""
        query = select(accounts).where(_VISIBLE).order_by(accounts.c.received_at, accounts.c.id)
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=500).execute(query):
                yield StoredAccount(_item(row), SealedAccount.from_dict(json.loads(row.sealed)), ())

    def notes(self, account_id: str) -> list[StoredNote]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(account_notes)
                .where(account_notes.c.account_id == account_id)
                .order_by(account_notes.c.created_at, account_notes.c.id)
            )
            return [StoredNote(r.id, r.author, r.created_at, bytes(r.sealed)) for r in rows]

    # -- reviewer actions --------------------------------------------------------------

    def record(
        self, actor: str, action: str, account_id: str | None, detail: dict[str, Any] | None = None
    ) -> None:
        """An audit entry on its own (opened, file-decrypted, exported)."""
        with self.engine.begin() as conn:
            audit.append(conn, actor, action, account_id, detail or {}, self.clock())

    def record_many(self, items: list[tuple[str, str, str | None, dict[str, Any]]]) -> None:
        with self.engine.begin() as conn:
            audit.append_many(conn, items, self.clock())

    def claim_next(
        self,
        reviewer: str,
        *,
        locking: bool = True,
        between: Callable[[], None] | None = None,
    ) -> str | None:
        """Take the next unheld account (urgent, then oldest) with a lease; its id, or None."""
        now = self.clock()
        claimable = and_(
            _VISIBLE,
            or_(
                accounts.c.status == "new",
                and_(accounts.c.status == "in-review", accounts.c.lease_until < now),
            ),
        )
        pick = select(accounts.c.id).where(claimable).order_by(*_ORDER).limit(1)
        values = {
            "status": "in-review",
            "assignee": reviewer,
            "lease_until": now + self.lease,
            "updated_at": now,
        }
        if not locking:
            return self._claim_unlocked(reviewer, pick, values, between)
        if self.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(accounts)
                .where(accounts.c.id == pick.scalar_subquery())
                .values(**values)
                .returning(accounts.c.id)
            ).scalar_one_or_none()
            if claimed is not None:
                audit.append(conn, reviewer_actor(reviewer), "claimed", claimed, {}, now)
        return claimed

    def _claim_unlocked(
        self,
        reviewer: str,
        pick: Any,
        values: dict[str, Any],
        between: Callable[[], None] | None,
    ) -> str | None:
        """TEST ONLY: read, then write in another transaction; races hand out duplicates."""
        with self.engine.begin() as conn:
            candidate = conn.execute(pick).scalar_one_or_none()
        if between is not None:
            between()
        if candidate is None:
            return None
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == candidate).values(**values))
        return str(candidate)

    def release(self, account_id: str, reviewer: str) -> None:
        """Give a held account back to the queue (status new, no assignee)."""
        now = self.clock()
        with self.engine.begin() as conn:
            result = conn.execute(
                update(accounts)
                .where(
                    accounts.c.id == account_id,
                    accounts.c.assignee == reviewer,
                    accounts.c.status == "in-review",
                )
                .values(status="new", assignee=None, lease_until=None, updated_at=now)
            )
            if result.rowcount != 1:
                self._require_visible(conn, account_id)
                raise NotHeld()
            audit.append(conn, reviewer_actor(reviewer), "released", account_id, {}, now)

    def _require_visible(self, conn: Connection, account_id: str) -> Any:
        query = select(accounts, _PENDING_WITHDRAWAL.label("pending")).where(
            accounts.c.id == account_id
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=accounts)
        row = conn.execute(query).first()
        if row is None:
            raise AccountNotFound()
        if row.withdrawn_at is not None or row.sealed is None or row.pending:
            raise AccountWithdrawn()
        return row

    def triage(
        self,
        account_id: str,
        reviewer: str,
        *,
        status: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
        note: Callable[[str], bytes] | None = None,
    ) -> dict[str, Any]:
        """Change status, tags, or add a note (`note(note_id)` returns its sealed bytes).

        Refused while another reviewer's lease is running. Returns what changed (the
        audit entry's detail, which names fields and tags, never note text).
        """
        if status is not None and status not in STATUSES:
            raise UnknownStatus()
        now = self.clock()
        with self.engine.begin() as conn:
            row = self._require_visible(conn, account_id)
            held_by_other = (
                row.status == "in-review"
                and row.assignee not in (None, reviewer)
                and row.lease_until is not None
                and row.lease_until > now
            )
            if held_by_other:
                raise HeldByAnother()
            detail: dict[str, Any] = {}
            if status is not None and status != row.status:
                values: dict[str, Any] = {"status": status, "updated_at": now}
                if status == "in-review":
                    values.update(assignee=reviewer, lease_until=now + self.lease)
                elif status == "new":
                    values.update(assignee=None, lease_until=None)
                else:
                    values.update(assignee=reviewer, lease_until=None)
                conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
                detail["status"] = [row.status, status]
            current = set(
                conn.execute(
                    select(account_tags.c.tag).where(account_tags.c.account_id == account_id)
                ).scalars()
            )
            added = sorted({t for t in add_tags if t not in current})
            removed = sorted({t for t in remove_tags if t in current and t not in added})
            if added:
                conn.execute(
                    insert(account_tags), [{"account_id": account_id, "tag": t} for t in added]
                )
                detail["tags_added"] = added
            if removed:
                conn.execute(
                    delete(account_tags).where(
                        account_tags.c.account_id == account_id, account_tags.c.tag.in_(removed)
                    )
                )
                detail["tags_removed"] = removed
            if note is not None:
                note_id = uuid.uuid4().hex
                conn.execute(
                    insert(account_notes).values(
                        id=note_id,
                        account_id=account_id,
                        author=reviewer,
                        created_at=now,
                        sealed=note(note_id),
                    )
                )
                detail["note"] = note_id
            if detail:
                conn.execute(
                    update(accounts).where(accounts.c.id == account_id).values(updated_at=now)
                )
                audit.append(conn, reviewer_actor(reviewer), "changed", account_id, detail, now)
        return detail

    def node_key(self, fingerprint: str) -> bytes | None:
        """The public key sync recorded for a node fingerprint (a unique prefix of 8+ works)."""
        if len(fingerprint) < 8:
            return None
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(nodes.c.public_key).where(
                    nodes.c.fingerprint.startswith(fingerprint.lower())
                )
            ).all()
        return bytes(rows[0].public_key) if len(rows) == 1 else None

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(accounts).where(_VISIBLE)
                ).scalar_one()
            )


__all__ = [
    "DEFAULT_LEASE",
    "AccountNotFound",
    "AccountWithdrawn",
    "HeldByAnother",
    "NotHeld",
    "Queue",
    "QueueError",
    "QueueItem",
    "StoredAccount",
    "StoredNote",
    "UnknownStatus",
    "reviewer_actor",
]
