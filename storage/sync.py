"""Sync: the node's outbox (sealed accounts, their files, withdrawal requests) into the queue.

Each batch is one queue transaction of `INSERT ... ON CONFLICT DO NOTHING`; only after it
committed does the node delete its copy (outbox rows, file rows, then the files on disk).
A fault anywhere — the queue gone, the process killed between the two commits — leaves
the batch in the outbox, and the rerun inserts nothing twice. The statements only insert,
so sync works as the node's INSERT-only PostgreSQL role; logging receipts and applying
withdrawals (`Queue.reconcile`) is tried afterwards and left to the reviewers when the
role may not do it.

Refused, loudly, and kept in the outbox: an account sealed before withdrawal secrets were
hashed (its signed metadata holds the clear tag, see `storage.queue.rows.carries_clear_tag`),
and a whole sync whose node key conflicts with the queue's `nodes` row
(`storage.queue.node_rows`). Each sync's withdrawal requests share one batch id, so the
queue can hold a burst (`storage.queue.withdrawals`).

`storage.queue.kit_import` merges a field kit's SQLite queue into the main queue the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, and_, delete, func, inspect, or_, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from storage.crypto import NodeKeys, SealedAccount
from storage.crypto.rotation import Rotation
from storage.db import checkpoint_wal, insert_ignore, read_connection
from storage.errors import N_, StorageError
from storage.intake.rows import sealed_from_row
from storage.intake.tables import files, outbox, withdrawal_requests
from storage.queue.admin import QueueSetupError
from storage.queue.audit import AuditSigner
from storage.queue.node_rows import record_node_keys
from storage.queue.reach import NOT_SET_UP, REFUSED, UNKNOWN_HOST, explain
from storage.queue.rows import carries_clear_tag, queue_row
from storage.queue.store import Queue
from storage.queue.tables import account_files, accounts, node_rotations, withdrawals
from storage.queue.withdrawals import DEFAULT_WITHDRAWAL_BURST, new_batch_id

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_BATCH_BYTES = 64 * 1024 * 1024


class SyncError(StorageError):
    """Sync cannot go on; the message says why and what to do."""


class OldFormatAccount(SyncError):
    default_message = N_(
        "An account was sealed by an older version of Attest with its withdrawal tag in the "
        "clear: in the queue, anyone who can read it could withdraw the account. It was not "
        "sent and stays in the node's outbox."
    )


OLD_FORMAT_LEFT = N_(
    "{count} accounts were sealed by an older version of Attest with their withdrawal tag "
    "in the clear; in the queue, anyone who can read it could withdraw them. They were not "
    "sent and stay, encrypted, in this node's outbox. To send them all the same, accepting "
    "that risk for them, run `attest sync --send-old-format`."
)


class DatabaseUnreachable(SyncError):
    default_message = N_(
        "The queue or the intake store cannot be reached. Check ATTEST_QUEUE_URL and that "
        "the database is running, then run sync again: nothing was lost."
    )


@dataclass(frozen=True)
class OutgoingFile:
    file_id: str
    data: bytes


@dataclass(frozen=True)
class OutgoingAccount:
    sealed: SealedAccount
    files: tuple[OutgoingFile, ...]
    queued_at: datetime | None = None  # the outbox row's time: where the next batch starts


@dataclass(frozen=True)
class SyncProgress:
    accounts_done: int
    accounts_total: int
    withdrawals_done: int
    withdrawals_total: int


@dataclass(frozen=True)
class SyncReport:
    accounts: int
    files: int
    withdrawals: int
    receipts_logged: int | None  # None: the role may not write the audit log
    withdrawals_applied: int | None
    refused_old_format: int = 0  # accounts left in the outbox: sealed with a clear tag


class Outbox:
    """The node's side: what waits to be synced, and deleting it once the queue has it."""

    def __init__(self, engine: Engine, files_dir: Path) -> None:
        self.engine = engine
        self.files_dir = files_dir

    def exists(self) -> bool:
        return inspect(self.engine).has_table("outbox")

    def counts(self) -> tuple[int, int]:
        with read_connection(self.engine) as conn:
            waiting = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
            requests = conn.execute(
                select(func.count()).select_from(withdrawal_requests)
            ).scalar_one()
        return int(waiting), int(requests)

    def take_accounts(
        self, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[OutgoingAccount]:
        """The oldest accounts waiting (after `after`, (created_at, id)), with their files."""
        taken: list[OutgoingAccount] = []
        size = 0
        query = select(outbox).order_by(outbox.c.created_at, outbox.c.account_id).limit(limit)
        if after is not None:
            query = query.where(
                or_(
                    outbox.c.created_at > after[0],
                    and_(outbox.c.created_at == after[0], outbox.c.account_id > after[1]),
                )
            )
        with read_connection(self.engine) as conn:
            rows = conn.execute(query).all()
            by_account: dict[str, list[str]] = {}
            for file_row in conn.execute(
                select(files.c.account_id, files.c.file_id)
                .where(files.c.account_id.in_([r.account_id for r in rows]))
                .order_by(files.c.file_id)
            ):
                by_account.setdefault(file_row.account_id, []).append(file_row.file_id)
            for row in rows:
                attached = tuple(
                    OutgoingFile(f, self._read_file(row.account_id, f))
                    for f in by_account.get(row.account_id, [])
                )
                taken.append(OutgoingAccount(sealed_from_row(row), attached, row.created_at))
                size += sum(len(f.data) for f in attached)
                if size > MAX_BATCH_BYTES:
                    break
        return taken

    def _read_file(self, account_id: str, file_id: str) -> bytes:
        try:
            return (self.files_dir / file_id).read_bytes()
        except FileNotFoundError:
            raise SyncError(
                f"The encrypted file of account {account_id} is missing from the node's "
                "files folder; sync stopped so nothing is lost. Restore the folder and rerun."
            ) from None

    def confirm_accounts(self, account_ids: list[str]) -> None:
        """Delete the node's copy of accounts the queue has committed.

        Their file rows are first marked for deletion (no account, no respondent) in the
        same transaction that deletes the accounts, then the files are unlinked and the
        rows dropped: a sync killed in between leaves marked rows, not files nobody knows
        of, and the next sync finishes the job (`drop_unlinked_files`).
        """
        with self.engine.begin() as conn:
            conn.execute(
                update(files)
                .where(files.c.account_id.in_(account_ids))
                .values(account_id=None, respondent=None, details=None)
            )
            conn.execute(delete(outbox).where(outbox.c.account_id.in_(account_ids)))
        self.drop_unlinked_files()

    def drop_unlinked_files(self) -> int:
        """Unlink the files of synced accounts (rows with neither account nor draft); how many."""
        with read_connection(self.engine) as conn:
            doomed = list(
                conn.execute(
                    select(files.c.file_id).where(
                        files.c.account_id.is_(None), files.c.respondent.is_(None)
                    )
                ).scalars()
            )
        if not doomed:
            return 0
        for file_id in doomed:
            (self.files_dir / file_id).unlink(missing_ok=True)
        with self.engine.begin() as conn:
            conn.execute(delete(files).where(files.c.file_id.in_(doomed)))
        return len(doomed)

    def finish(self) -> None:
        """Push deleted pages out of SQLite's WAL once a sync is done (not after every batch)."""
        checkpoint_wal(self.engine)

    def take_withdrawals(self, limit: int) -> list[tuple[str, datetime]]:
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(withdrawal_requests).order_by(withdrawal_requests.c.created_at).limit(limit)
            ).all()
        return [(r.withdrawal_tag, r.created_at) for r in rows]

    def confirm_withdrawals(self, tags: list[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(withdrawal_requests).where(withdrawal_requests.c.withdrawal_tag.in_(tags))
            )


def insert_accounts(
    conn: Connection,
    items: Iterable[OutgoingAccount],
    received_at: datetime,
    node_keys: dict[str, bytes],
    *,
    send_old_format: bool = False,
) -> tuple[int, int]:
    """Insert accounts and files, ignoring ones already there; (accounts, files) sent.

    NodeKeyConflict when a node key conflicts with the queue's; OldFormatAccount for an
    account sealed with a clear withdrawal tag, unless `send_old_format` says the
    operator accepts that risk for them.
    """
    items = list(items)
    if not send_old_format and any(carries_clear_tag(item.sealed) for item in items):
        raise OldFormatAccount()
    record_node_keys(conn, node_keys, received_at)
    insert_ignore(conn, accounts, [queue_row(item.sealed, received_at) for item in items])
    file_rows = [
        {
            "account_id": item.sealed.account_id,
            "file_id": f.file_id,
            "size": len(f.data),
            "data": f.data,
        }
        for item in items
        for f in item.files
    ]
    insert_ignore(conn, account_files, file_rows)
    return len(items), len(file_rows)


def sync_outbox(
    source: Outbox,
    queue: Engine,
    node_keys: dict[str, bytes],
    *,
    batch_size: int = 200,
    progress: Callable[[SyncProgress], None] | None = None,
    between_commits: Callable[[int], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    burst: int = DEFAULT_WITHDRAWAL_BURST,
    send_old_format: bool = False,
    signer: AuditSigner | None = None,
    rotations: Sequence[Rotation] = (),
) -> SyncReport:
    """Move everything waiting in `source` into `queue`, batch by batch.

    `node_keys` (fingerprint -> public key) is recorded so reviewers can pin the node by
    fingerprint. `between_commits(batch)` runs after the queue committed a batch and
    before the node deletes it (tests kill the process there). Accounts sealed with a
    clear withdrawal tag stay in the outbox unless `send_old_format`
    (`attest sync --send-old-format`: the operator accepts that whoever reads the queue
    could withdraw those accounts, as before the upgrade).
    """
    try:
        with queue.connect() as conn:
            conn.execute(select(func.count()).select_from(accounts).where(accounts.c.id == ""))
    except ProgrammingError as error:
        # The node's INSERT-only role may not read: that is fine. A missing table is not.
        if "permission denied" not in str(error.orig).lower():
            raise QueueSetupError(NOT_SET_UP) from None
    except OperationalError as error:
        if "no such table" in str(error.orig):
            raise QueueSetupError(NOT_SET_UP) from None
        raise
    source.drop_unlinked_files()  # what a killed sync left to delete
    if rotations:
        with queue.begin() as conn:
            insert_rotations(conn, rotations)
    total_accounts, total_withdrawals = source.counts()
    done_accounts = done_files = done_withdrawals = refused = 0
    batch_no = 0
    after: tuple[datetime, str] | None = None
    while taken := source.take_accounts(batch_size, after):
        last = taken[-1]
        if last.queued_at is not None:
            after = (last.queued_at, last.sealed.account_id)
        batch = [item for item in taken if send_old_format or not carries_clear_tag(item.sealed)]
        refused += len(taken) - len(batch)
        if not batch:
            continue
        with queue.begin() as conn:
            sent, sent_files = insert_accounts(
                conn, batch, clock(), node_keys, send_old_format=send_old_format
            )
        batch_no += 1
        if between_commits is not None:
            between_commits(batch_no)
        source.confirm_accounts([item.sealed.account_id for item in batch])
        done_accounts += sent
        done_files += sent_files
        if progress is not None:
            progress(
                SyncProgress(
                    done_accounts, max(total_accounts, done_accounts), 0, total_withdrawals
                )
            )
    # One batch id for this sync's requests: more than the queue's burst limit is held.
    batch_id = new_batch_id()
    while requests := source.take_withdrawals(batch_size):
        with queue.begin() as conn:
            insert_ignore(
                conn,
                withdrawals,
                [{"secret": s, "requested_at": at, "batch": batch_id} for s, at in requests],
            )
        source.confirm_withdrawals([t for t, _ in requests])
        done_withdrawals += len(requests)
        if progress is not None:
            progress(
                SyncProgress(
                    done_accounts,
                    done_accounts,
                    done_withdrawals,
                    max(total_withdrawals, done_withdrawals),
                )
            )
    source.finish()
    if done_accounts >= ANALYZE_AFTER:
        refresh_statistics(queue)
    receipts, applied = try_reconcile(queue, burst, signer)
    if refused:
        log.warning("sync: %d account(s) in the old format left in the outbox", refused)
    return SyncReport(done_accounts, done_files, done_withdrawals, receipts, applied, refused)


def insert_rotations(conn: Connection, rotations: Sequence[Rotation]) -> None:
    """Copy the node's rotation certificates to the queue (reviewers check them)."""
    insert_ignore(
        conn,
        node_rotations,
        [
            {
                "new_fingerprint": r.new_fingerprint,
                "new_key": r.new_key,
                "old_key": r.old_key,
                "rotated_at": r.rotated_at,
                "signature": r.signature,
            }
            for r in rotations
        ],
    )


def node_signer(node: NodeKeys) -> AuditSigner:
    """The node as the signer of the audit entries `attest sync` writes."""
    return AuditSigner(f"node:{node.fingerprint}", node.sign)


def try_reconcile(
    queue: Engine, burst: int = DEFAULT_WITHDRAWAL_BURST, signer: AuditSigner | None = None
) -> tuple[int | None, int | None]:
    """Log receipts and apply withdrawals if this connection's role may; (None, None) if not.

    `signer` is the node's (`node_signer`): the entries name and are signed by the node.
    """
    try:
        return Queue(queue, withdrawal_burst=burst, signer=signer).reconcile()
    except ProgrammingError as error:
        # The node's INSERT-only role: reviewers' next command does it.
        if "permission denied" in str(error.orig).lower():
            return None, None
        raise


# A PostgreSQL queue that has just received many accounts has no statistics until
# autovacuum comes by; meanwhile the planner guesses, and `review list` took 80-90 ms
# instead of a few. After a batch this large, sync runs ANALYZE itself.
ANALYZE_AFTER = 1000


def refresh_statistics(queue: Engine) -> None:
    """ANALYZE the accounts table on PostgreSQL (a role that may not is skipped silently).

    PostgreSQL answers a role that does not own the table (the node's INSERT-only role)
    with a warning, not an error, and analyzes nothing; the administrator's `queue init`
    or autovacuum then do it. SQLite's planner needs no statistics for these queries.
    """
    if queue.dialect.name != "postgresql":
        return
    try:
        with queue.connect() as conn:
            conn.execute(text("ANALYZE accounts"))
            conn.commit()
    except DBAPIError:
        log.info("sync: could not refresh the queue's statistics")


TRANSIENT = (REFUSED, UNKNOWN_HOST)  # a server restarting, a network coming back


def with_retries(
    action: Callable[[], T],
    *,
    attempts: int | None = 6,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, float], None] | None = None,
) -> T:
    """Run `action`, retrying with exponential backoff while the database is unreachable.

    `attempts=None` retries forever (`attest sync --watch`). Only connection-level
    failures are retried; anything else is a bug or a setup problem and surfaces at once.
    The delays double from `base_delay` up to `max_delay`; `on_retry(attempt, delay)` is
    told before each wait. tenacity does the retrying; it is imported here, not at the top,
    to stay off the start-up path of `attest review list`.
    """
    from tenacity import (
        RetryCallState,
        RetryError,
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        stop_never,
        wait_exponential,
    )

    def connection_failed(error: BaseException) -> bool:
        return isinstance(error, DBAPIError) and (
            isinstance(error, OperationalError) or bool(error.connection_invalidated)
        )

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.next_action is not None:
            on_retry(state.attempt_number, state.next_action.sleep)

    retrying = Retrying(
        retry=retry_if_exception(connection_failed),
        stop=stop_never if attempts is None else stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=base_delay, max=max_delay),
        sleep=sleep,
        before_sleep=before_sleep,
    )

    def attempt() -> T:
        try:
            return action()
        except DBAPIError as error:
            # A wrong database name, user or password does not mend itself: say so now.
            if connection_failed(error):
                explained = explain(error)
                if explained is not None and explained.template not in TRANSIENT:
                    raise explained from None
            raise

    try:
        return retrying(attempt)
    except RetryError as exhausted:
        raise DatabaseUnreachable() from exhausted.last_attempt.exception()


NOTHING_TO_SYNC = N_("Nothing to sync: this node has no intake store yet.")
