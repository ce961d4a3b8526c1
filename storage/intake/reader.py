"""One reader thread that answers every waiting read in one read transaction.

The intake store reads before every turn (was this update seen, the person's draft).
Each read on a thread pool costs a connection checkout, a BEGIN and a ROLLBACK, and a
wake-up of the event loop to hand the result back. Like the writer (`storage.intake.writer`),
this thread takes the first read, then every read queued meanwhile, runs them all in one
read transaction and wakes each event loop once for the whole batch.

A read queued after a commit returned sees that commit: its transaction starts after the
read was queued. A read that raises fails alone; after a database error the transaction
is rolled back and the rest of the batch continues in a fresh one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from storage.db import read_connection
from storage.errors import StorageError
from storage.intake.batching import BatchThread, Pending, wake

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 256

Read = Callable[[Connection], T]


class ReaderClosed(StorageError):
    """The store was closed; nothing more can be read through it."""

    default_message = "The store is closed."


class BatchReader(BatchThread):
    """Runs read jobs on one thread, many per read transaction."""

    closed_error = ReaderClosed

    def __init__(self, engine: Engine, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        super().__init__("attest-reader", max_batch)

    async def run(self, read: Read[T]) -> T:
        """`read(conn)` inside a read transaction, on the reader thread."""
        result: T = await self._submit(read)
        return result

    def _serve(self) -> None:
        for batch in self._batches():
            wake(batch, self._answer(batch))

    def _answer(self, batch: list[Pending[Any]]) -> list[tuple[Any, BaseException | None]]:
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            with read_connection(self._engine) as conn:
                transaction = conn.begin()
                for pending in batch:
                    try:
                        outcomes.append((pending.job(conn), None))
                    except DBAPIError as error:
                        # The transaction may be unusable now (PostgreSQL aborts it).
                        outcomes.append((None, error))
                        transaction.rollback()
                        transaction = conn.begin()
                    except Exception as error:
                        outcomes.append((None, error))
                transaction.rollback()  # nothing was written; ends the snapshot
        except Exception as error:  # no connection, or the database went away
            log.error("intake store read failed (%s)", type(error).__name__)
            failed = StorageError("The store could not be read. Please try again.")
            failed.__cause__ = error
            outcomes.extend((None, failed) for _ in range(len(batch) - len(outcomes)))
        return outcomes
