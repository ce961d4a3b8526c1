"""The reviewer queue: list, claim, release, triage, read sealed accounts, apply withdrawals.

Every change writes its audit entry in the same transaction (`storage.queue.audit`), always as
the transaction's last statement, so the chain lock is never held while waiting for a row.

Claims, release and triage live in `storage.queue.actions` (mixed in); the item types
and errors in `storage.queue.items`.

Withdrawn accounts become tombstones: `reconcile` (run before every reviewer command)
examines new withdrawal requests (hashing their secrets, holding bursts: see
`storage.queue.withdrawals`) and applies the accepted ones, deleting the sealed body,
files, tags and notes. Listing and export also skip any account an accepted request
names, so a withdrawal counts from the moment it is examined.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, and_, delete, func, select, update

from storage.crypto.digests import withdrawal_hash
from storage.db import checkpoint_wal, read_connection
from storage.queue import audit
from storage.queue.actions import QueueActions
from storage.queue.admin import open_queue, queue_id
from storage.queue.audit import AuditSigner
from storage.queue.columns import (
    ACCOUNT_COLUMNS,
    NOTE_COLUMNS,
    PENDING_WITHDRAWAL,
    RECEIVED_AT,
    VISIBLE,
)
from storage.queue.items import (
    AccountNotFound,
    AccountWithdrawn,
    AmbiguousId,
    HeldByAnother,
    IdTooShort,
    InvalidTag,
    NotHeld,
    QueueError,
    QueueItem,
    StoredAccount,
    StoredNote,
    UnknownStatus,
    item_of,
    received_time,
    reviewer_actor,
    sealed_of,
    stored_time,
)
from storage.queue.queries import QueueListing
from storage.queue.schema import ACCEPTED
from storage.queue.tables import (
    UNLOGGED,
    account_files,
    account_notes,
    account_tags,
    accounts,
    nodes,
    reseals,
    withdrawals,
)
from storage.queue.withdrawals import (
    DEFAULT_WITHDRAWAL_BURST,
    HeldBatch,
    QueueWithdrawals,
    UnknownBatch,
)

DEFAULT_LEASE = timedelta(minutes=30)
_BATCH = 1000


def _withdrawn_not_applied() -> Select[Any]:
    """Accounts a withdrawal request names that are not tombstones yet.

    Driven from the (small) withdrawals table through the withdrawal-tag index, so it
    stays fast however many accounts the queue holds.
    """
    return (
        select(accounts.c.id, accounts.c.withdrawal_hash, withdrawals.c.secret)
        .select_from(
            withdrawals.join(accounts, accounts.c.withdrawal_hash == withdrawals.c.secret_hash)
        )
        .where(withdrawals.c.status == ACCEPTED, accounts.c.withdrawn_at.is_(None))
    )


def _arrival(received_at: object, account_id: str) -> tuple[bool, datetime, str]:
    parsed = received_time(received_at)
    return (parsed is None, parsed or datetime.min.replace(tzinfo=UTC), account_id)


class Queue(QueueListing, QueueActions, QueueWithdrawals):
    """The queue behind one engine; `clock`, `lease` and `withdrawal_burst` are injectable."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        withdrawal_burst: int = DEFAULT_WITHDRAWAL_BURST,
        signer: AuditSigner | None = None,
    ) -> None:
        self.engine = engine
        # Who signs this queue's audit entries; None: an administrator's command, "admin".
        self.signer = signer
        self.lease = lease
        self.clock = clock
        self.withdrawal_burst = withdrawal_burst
        self._queue_id: str | None = None

    @classmethod
    def open(cls, url: str, *, create: bool = True, **kwargs: Any) -> Queue:
        """The queue at `url`; `create=False` never makes a SQLite file (QueueAccessError)."""
        return cls(open_queue(url, create=create), **kwargs)

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
        if not self.reconcile_needed():
            return 0, 0
        self.examine_requests()
        while logged := self._log_receipts():
            receipts += logged
        return receipts, self.apply_withdrawals()

    def _log_receipts(self) -> int:
        """Mark up to a batch of new accounts received and write their entries; how many.

        One UPDATE both picks and marks them (skipping rows another reviewer's command is
        marking right now, on PostgreSQL), so two commands never log one receipt twice.
        """
        pick = (
            select(accounts.c.id)
            .where(UNLOGGED)
            .order_by(accounts.c.received_at, accounts.c.id)
            .limit(_BATCH)
        )
        if self.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            returned = conn.execute(
                update(accounts)
                .where(accounts.c.id.in_(pick), UNLOGGED)
                .values(receipt_logged=True)
                .returning(accounts.c.id, accounts.c.node_fingerprint, RECEIVED_AT)
            ).all()
            # RETURNING has no order: log receipts oldest first, as they arrived (an
            # account whose time is damaged, last).
            rows = sorted(returned, key=lambda r: _arrival(r.received_at, r.id))
            audit.append_many(
                conn,
                [(self.actor, "received", r.id, {"node": r.node_fingerprint}) for r in rows],
                self.clock(),
                self.signer,
            )
        return len(rows)

    def reconcile_needed(self) -> bool:
        """A cheap read first, so a command with nothing to apply takes no write lock.

        Each check reads an index, never the accounts table: receipts not logged through
        the partial index, withdrawals from the (small) withdrawals table first and only
        then the accounts their hashes name (issue 16: a join let SQLite's planner read
        all 100,000 accounts, 200 ms on a loaded machine).
        """
        unlogged = select(accounts.c.id).where(UNLOGGED).limit(1)
        unexamined = select(withdrawals.c.secret).where(withdrawals.c.status.is_(None)).limit(1)
        accepted = select(withdrawals.c.secret_hash).where(
            withdrawals.c.status == ACCEPTED, withdrawals.c.secret_hash.isnot(None)
        )
        with read_connection(self.engine) as conn:
            if any(conn.execute(query).first() is not None for query in (unlogged, unexamined)):
                return True
            hashes = list(conn.execute(accepted).scalars())
            for start in range(0, len(hashes), _BATCH):
                pending = (
                    select(accounts.c.id)
                    .where(
                        accounts.c.withdrawal_hash.in_(hashes[start : start + _BATCH]),
                        accounts.c.withdrawn_at.is_(None),
                    )
                    .limit(1)
                )
                if conn.execute(pending).first() is not None:
                    return True
        return False

    def apply_withdrawals(self) -> int:
        """Turn every account a withdrawal request names into a tombstone; how many."""
        now = self.clock()
        with self.engine.begin() as conn:
            candidates = conn.execute(_withdrawn_not_applied().order_by(accounts.c.id)).all()
            # Never trust the hash column a request arrived with: the secret must hash to
            # the account's hash here and now.
            ids = sorted(
                {r.id for r in candidates if withdrawal_hash(r.secret) == r.withdrawal_hash}
            )
            for forged in {r.secret for r in candidates if r.id not in ids}:
                conn.execute(
                    update(withdrawals)
                    .where(withdrawals.c.secret == forged)
                    .values(secret_hash=withdrawal_hash(forged))
                )
            if not ids:
                return 0
            entries: list[tuple[str, str, str | None, dict[str, Any]]] = []
            for account_id in ids:
                # The condition re-checked under the row lock: a concurrent command that
                # already made it a tombstone leaves nothing to do here.
                done = conn.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id, accounts.c.withdrawn_at.is_(None))
                    .values(
                        sealed=None,
                        flow=None,
                        language=None,
                        channel=None,
                        scopes=None,
                        urgent=False,
                        status="closed",
                        # The holder is kept, only to tell them on their next command
                        # (`withdrawn_while_held`); a fingerprint, nothing of the person.
                        lease_until=None,
                        withdrawn_at=now,
                        updated_at=now,
                    )
                ).rowcount
                if not done:
                    continue
                for table in (account_files, account_tags, account_notes, reseals):
                    conn.execute(delete(table).where(table.c.account_id == account_id))
                exported = audit.count_actions(conn, account_id, "exported")
                # Exports made before the withdrawal cannot be recalled by the queue; the
                # count points reviewers to the "exported" entries to follow up.
                entries.append((self.actor, "withdrawn", account_id, {"exported_before": exported}))
            audit.append_many(conn, entries, now, self.signer)
        # Push the overwritten pages out of SQLite's WAL as well.
        checkpoint_wal(self.engine)
        return len(entries)

    # -- reading -----------------------------------------------------------------------

    def withdrawn_while_held(self, reviewer: str) -> list[str]:
        """Ids of accounts `reviewer` held when their person withdrew them, told only once."""
        held = and_(accounts.c.assignee == reviewer, accounts.c.withdrawn_at.isnot(None))
        with self.engine.begin() as conn:
            ids = conn.execute(
                update(accounts).where(held).values(assignee=None).returning(accounts.c.id)
            ).scalars()
            return sorted(str(i) for i in ids)

    def item(self, account_id: str) -> QueueItem:
        """The queue row, tombstones included; AccountNotFound if absent."""
        with read_connection(self.engine) as conn:
            row = conn.execute(select(*ACCOUNT_COLUMNS).where(accounts.c.id == account_id)).first()
            if row is None:
                raise AccountNotFound()
            return item_of(row, self._tags(conn, [account_id]).get(account_id, ()))

    def get(self, account_id: str) -> StoredAccount:
        """The sealed account; AccountNotFound, or AccountWithdrawn for a tombstone."""
        with read_connection(self.engine) as conn:
            row = conn.execute(
                select(*ACCOUNT_COLUMNS, PENDING_WITHDRAWAL.label("pending")).where(
                    accounts.c.id == account_id
                )
            ).first()
            if row is None:
                raise AccountNotFound()
            if row.sealed is None or row.withdrawn or row.pending:
                raise AccountWithdrawn()
            file_ids = conn.execute(
                select(account_files.c.file_id)
                .where(account_files.c.account_id == account_id)
                .order_by(account_files.c.file_id)
            ).scalars()
            tags = self._tags(conn, [account_id]).get(account_id, ())
            return StoredAccount(item_of(row, tags), sealed_of(row.sealed), tuple(file_ids))

    def file_data(self, account_id: str, file_id: str) -> bytes | None:
        with read_connection(self.engine) as conn:
            data = conn.execute(
                select(account_files.c.data).where(
                    account_files.c.account_id == account_id, account_files.c.file_id == file_id
                )
            ).scalar_one_or_none()
        return None if data is None else bytes(data)

    def exportable(self) -> Iterator[StoredAccount]:
        """Every account not withdrawn, oldest first, streamed."""
        query = (
            select(*ACCOUNT_COLUMNS).where(VISIBLE).order_by(accounts.c.received_at, accounts.c.id)
        )
        with read_connection(self.engine) as conn:
            for row in conn.execution_options(yield_per=500).execute(query):
                yield StoredAccount(item_of(row), sealed_of(row.sealed), ())

    def notes(self, account_id: str) -> list[StoredNote]:
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(*NOTE_COLUMNS)
                .where(account_notes.c.account_id == account_id)
                .order_by(account_notes.c.created_at, account_notes.c.id)
            )
            return [
                StoredNote(r.id, r.author, stored_time(r.created_at), bytes(r.sealed)) for r in rows
            ]

    # -- reviewer actions --------------------------------------------------------------

    def record(
        self, actor: str, action: str, account_id: str | None, detail: dict[str, Any] | None = None
    ) -> None:
        """An audit entry on its own (opened, file-decrypted, exported)."""
        with self.engine.begin() as conn:
            audit.append(conn, actor, action, account_id, detail or {}, self.clock(), self.signer)

    def record_many(self, items: Sequence[tuple[str, str, str | None, Mapping[str, Any]]]) -> None:
        with self.engine.begin() as conn:
            audit.append_many(conn, items, self.clock(), self.signer)

    def node_key(self, fingerprint: str) -> bytes | None:
        """The public key stored under exactly this fingerprint, as stored: unchecked.

        Whoever pins it must check that it hashes to the fingerprint (`NodePins.pin`).
        """
        with read_connection(self.engine) as conn:
            key = conn.execute(
                select(nodes.c.public_key).where(nodes.c.fingerprint == fingerprint)
            ).scalar_one_or_none()
        return None if key is None else bytes(key)

    def node_fingerprints(self) -> list[str]:
        """The fingerprints of every node that has synced to this queue."""
        with read_connection(self.engine) as conn:
            return [str(f) for f in conn.execute(select(nodes.c.fingerprint)).scalars()]

    def node_rows(self, fingerprints: Iterable[str]) -> list[tuple[str, bytes]]:
        """(fingerprint column, key as stored) of the rows under these fingerprints: unchecked.

        For `node_pins.replaced_node_keys`, which hashes each key rather than trusting the
        column it sits in.
        """
        wanted = sorted(set(fingerprints))
        if not wanted:
            return []
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(nodes.c.fingerprint, nodes.c.public_key).where(
                    nodes.c.fingerprint.in_(wanted)
                )
            ).all()
        return [(str(row.fingerprint), bytes(row.public_key)) for row in rows]

    def count(self) -> int:
        with read_connection(self.engine) as conn:
            return int(
                conn.execute(select(func.count()).select_from(accounts).where(VISIBLE)).scalar_one()
            )


__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_WITHDRAWAL_BURST",
    "AccountNotFound",
    "AccountWithdrawn",
    "AmbiguousId",
    "HeldBatch",
    "HeldByAnother",
    "IdTooShort",
    "InvalidTag",
    "NotHeld",
    "Queue",
    "QueueError",
    "QueueItem",
    "StoredAccount",
    "StoredNote",
    "UnknownBatch",
    "UnknownStatus",
    "reviewer_actor",
]
