"""One writer thread that commits every waiting change in one transaction (group commit).

With `synchronous=FULL` each commit costs an fsync; committing the turns of everyone who
is waiting together pays it once for all of them (PERFORMANCE.md). The thread takes the
first job, then every job queued meanwhile, runs them in one transaction, commits once,
runs the after-commit work (unlinking files, checkpointing the WAL after a shred) and only
then wakes each caller's future. A caller never hears "saved" before the data is durable.

If a job raises, the batch is rolled back and run again with a SAVEPOINT per job, so one
failing job fails alone. (SAVEPOINTs on every batch cost two statements per job; a repeated
update key is not an error but an INSERT ... ON CONFLICT DO NOTHING that inserts nothing.)
Jobs must therefore be safe to run twice: they read what they need inside the transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from storage.errors import StorageError
from storage.intake.batching import BatchThread, Pending, wake

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 256


@dataclass
class AfterCommit:
    """Work that may only happen once the transaction is durable."""

    unlink: list[Path] = field(default_factory=list)
    checkpoint: bool = False

    def merge(self, other: AfterCommit) -> None:
        self.unlink.extend(other.unlink)
        self.checkpoint = self.checkpoint or other.checkpoint


Job = Callable[[Connection, AfterCommit], T]


class StoreClosed(StorageError):
    """The store was closed; nothing more can be saved through it."""

    default_message = "The store is closed."


class GroupCommitWriter(BatchThread):
    """Runs write jobs on one thread and connection, batching commits."""

    closed_error = StoreClosed

    def __init__(
        self,
        engine: Engine,
        after_commit: Callable[[AfterCommit], None],
        max_batch: int = MAX_BATCH,
    ) -> None:
        """`max_batch=1` turns group commit off (one transaction per job), for comparison."""
        self._engine = engine
        self._after_commit = after_commit
        self.batches = 0
        self.jobs = 0
        super().__init__("attest-writer", max_batch)

    async def run(self, job: Job[T]) -> T:
        """Run `job(conn, after)` inside a committed transaction; its result once durable."""
        # A cancelled caller cancels only its wait: the job is queued and still runs
        # whole (in its batch), and its result is dropped (`_settle_all` skips a future
        # that is done).
        result: T = await self._submit(job)
        return result

    def _serve(self) -> None:
        with self._engine.connect() as conn:
            for batch in self._batches():
                self._commit(conn, batch)

    def _commit(self, conn: Connection, batch: list[Pending[Any]]) -> None:
        outcomes: list[tuple[Any, BaseException | None]]
        try:
            # Optimistic first: no SAVEPOINTs (a repeated update is not an error, it is an
            # INSERT that inserts nothing). Only if a job raises is the batch rolled back
            # and run again with a SAVEPOINT per job, so one failure fails only its job.
            attempt = self._attempt(conn, batch, savepoints=False)
            if attempt is None:
                attempt = self._attempt(conn, batch, savepoints=True)
            assert attempt is not None
            outcomes, after = attempt
        except Exception as error:
            # The commit itself failed: nothing in this batch was saved.
            log.error("intake store commit failed (%s)", type(error).__name__)
            failed = StorageError("The answer could not be saved. Please try again.")
            failed.__cause__ = error
            outcomes = [(None, failed)] * len(batch)
            after = AfterCommit()
        try:
            self._after_commit(after)
        except Exception as cleanup_error:  # cleanup must not hide that the data is saved
            log.error("after-commit cleanup failed (%s)", type(cleanup_error).__name__)
        self.batches += 1
        self.jobs += len(batch)
        wake(batch, outcomes)

    def _attempt(
        self, conn: Connection, batch: list[Pending[Any]], *, savepoints: bool
    ) -> tuple[list[tuple[Any, BaseException | None]], AfterCommit] | None:
        """Run the batch in one transaction; None if a job failed without a savepoint."""
        outcomes: list[tuple[Any, BaseException | None]] = []
        after = AfterCommit()
        with conn.begin() as transaction:
            for pending in batch:
                job_after = AfterCommit()
                savepoint = conn.begin_nested() if savepoints else None
                try:
                    value = pending.job(conn, job_after)
                except Exception as error:
                    if savepoint is not None:
                        savepoint.rollback()
                        outcomes.append((None, error))
                        continue
                    transaction.rollback()
                    if len(batch) > 1:
                        return None
                    return [(None, error)], AfterCommit()
                if savepoint is not None:
                    savepoint.commit()
                after.merge(job_after)
                outcomes.append((value, None))
        return outcomes, after
