"""A per-respondent lock shared by every process of a node: PostgreSQL advisory locks.

Several `attest run --webhook` processes may share one PostgreSQL database, and Telegram
may hand one person's updates to two of them at once. Each process already runs one
person's turns one at a time; this lock makes that true across processes, so a turn
always reads the draft the previous turn wrote.

One dedicated connection per process holds the session-level advisory locks of every
person whose turn is running in that process (a connection may hold many). Taking a lock
never blocks a thread: `pg_try_advisory_lock` is retried with a short sleep. If the
connection is lost its locks are gone with it; the next lock reconnects.

On SQLite there is only ever one process writing (the database file is local), and the
dispatcher's in-process lock is enough, so `respondent_lock` is a no-op there.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine, text

from storage.db import is_sqlite

# Distinguishes these locks from the migration and audit-chain locks (other key spaces).
_NAMESPACE = b"attest-respondent-lock:"
_FIRST_WAIT = 0.002
_MAX_WAIT = 0.05


def lock_key(respondent: str) -> int:
    """A signed 64-bit advisory lock key for a respondent pseudonym."""
    digest = hashlib.sha256(_NAMESPACE + respondent.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class RespondentLocks:
    """Advisory locks on one dedicated connection, used from one thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._enabled = not is_sqlite(engine)
        self._connection: Any = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attest-lock")

    def _connect(self) -> Any:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
        return self._connection

    def _try(self, key: int) -> bool:
        try:
            return bool(
                self._connect()
                .execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                .scalar()
            )
        except Exception:
            self._drop()
            raise

    def _release(self, key: int) -> None:
        if self._connection is None:
            return  # the connection died; its locks went with it
        try:
            self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        except Exception:
            self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
                connection.close()
            except Exception:
                pass

    @asynccontextmanager
    async def hold(self, respondent: str) -> AsyncIterator[None]:
        """Hold the respondent's lock for the block (waits while another process has it)."""
        if not self._enabled:
            yield
            return
        loop = asyncio.get_running_loop()
        key = lock_key(respondent)
        wait = _FIRST_WAIT
        while not await loop.run_in_executor(self._thread, self._try, key):
            await asyncio.sleep(wait)
            wait = min(wait * 2, _MAX_WAIT)
        try:
            yield
        finally:
            await loop.run_in_executor(self._thread, self._release, key)

    def close(self) -> None:
        self._thread.submit(self._drop).result()
        self._thread.shutdown(wait=True)
