"""Database engines: a SQLite file in the data directory, or PostgreSQL by URL.

SQLite is opened so that an acknowledged answer survives a power cut and a shredded
draft leaves no bytes behind:

    journal_mode=WAL      readers never block the single writer
    synchronous=FULL      the WAL is fsynced at every commit
    secure_delete=ON      deleted content is overwritten with zeros, not just unlinked
    foreign_keys=ON       declared references are enforced
    BEGIN IMMEDIATE       a transaction takes the write lock when it starts, so two
                          writers never deadlock upgrading a read lock

pysqlite's own transaction handling is switched off (`isolation_level=None`) and the
BEGIN is issued from SQLAlchemy's "begin" event, which also makes SAVEPOINTs work.

PostgreSQL: a plain `postgresql://` (or `postgres://`) URL is mapped to psycopg 3
(`postgresql+psycopg://`). The store drives a *sync* engine from one writer thread
(see PERFORMANCE.md), and psycopg 3 is the maintained sync driver that is already a
dependency; asyncpg would need the async engine and its per-statement hops.
"""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.types import TypeDecorator

SQLITE_PRAGMAS: tuple[tuple[str, str], ...] = (
    ("journal_mode", "WAL"),
    ("synchronous", "FULL"),
    ("secure_delete", "ON"),
    ("foreign_keys", "ON"),
    # A writer waiting for another process's lock waits instead of failing at once.
    ("busy_timeout", "10000"),
)
READ_ONLY_OPTION = "attest_read_only"
SHOWN_PRAGMAS = ("journal_mode", "synchronous", "secure_delete", "foreign_keys", "busy_timeout")


def database_url(url_or_path: str | Path) -> URL:
    """The SQLAlchemy URL for a PostgreSQL URL, any SQLAlchemy URL, or a SQLite file path."""
    raw = str(url_or_path)
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return make_url("postgresql+psycopg://" + raw[len(prefix) :])
    if "://" in raw:
        return make_url(raw)
    return URL.create("sqlite+pysqlite", database=str(Path(raw).expanduser().resolve()))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_store_engine(url_or_path: str | Path) -> Engine:
    """An engine with the durability and deletion settings above applied to every connection."""
    url = database_url(url_or_path)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            _create_owner_only(Path(url.database))
        # Connections move between the writer thread and the reader pool.
        engine = create_engine(url, hide_parameters=True, connect_args={"check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    # hide_parameters: bound values (pseudonyms, ciphertext) stay out of logs and errors.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _create_owner_only(path: Path) -> None:
    """Create a new database file readable by its owner only (0600).

    SQLite would create it with the umask's mode (often 0644), and gives its -wal and -shm
    files the database file's mode. Pseudonyms, times and consent scopes are in plaintext
    columns, so other users of the machine must not read them, whatever the directory.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below owns BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for name, value in SQLITE_PRAGMAS:
                cursor.execute(f"PRAGMA {name}={value}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers must not take the write lock: they ask for a deferred BEGIN.
        deferred = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def read_connection(engine: Engine) -> Connection:
    """A connection for reads only (on SQLite its transactions do not take the write lock)."""
    return engine.connect().execution_options(**{READ_ONLY_OPTION: True})


def sqlite_pragmas(engine: Engine) -> dict[str, str]:
    """The PRAGMAs in force on a fresh connection (empty for other databases)."""
    if not is_sqlite(engine):
        return {}
    return {
        name: _pragma_label(name, _raw_one(engine, f"PRAGMA {name}")[0]) for name in SHOWN_PRAGMAS
    }


def _pragma_label(name: str, value: object) -> str:
    if name == "synchronous":
        return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(int(str(value)), str(value))
    if name in {"secure_delete", "foreign_keys"}:
        return {0: "OFF", 1: "ON", 2: "FAST"}.get(int(str(value)), str(value))
    return str(value)


def checkpoint_wal(engine: Engine, attempts: int = 5) -> bool:
    """Copy the WAL into the database file and truncate it to zero bytes.

    After a shred, the old pages still sit in the WAL until a checkpoint; TRUNCATE moves
    them out and empties the file. A reader holding an old snapshot can block it, so it is
    retried a few times. True when the WAL was fully truncated.
    """
    if not is_sqlite(engine):
        return True
    for attempt in range(attempts):
        busy = _raw_one(engine, "PRAGMA wal_checkpoint(TRUNCATE)")[0]
        if busy == 0:
            return True
        time.sleep(0.01 * (attempt + 1))
    return False


def _raw_one(engine: Engine, sql: str) -> tuple[Any, ...]:
    """One row from a statement run outside any transaction.

    SQLAlchemy would open a transaction (here BEGIN IMMEDIATE) around it; PRAGMA reads
    and checkpoints must run without one.
    """
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            row = cursor.fetchone()
            return tuple(row) if row is not None else ()
        finally:
            cursor.close()
    finally:
        raw.close()


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine."""
    if not is_sqlite(engine) or not engine.url.database:
        return None
    return Path(engine.url.database)


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite stores naive text otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        utc = value.astimezone(UTC)
        # SQLite compares these as text: store one canonical naive-UTC form.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING for many rows (no conflict target: needs INSERT only)."""
    if not rows:
        return
    # Imported here: a SQLite queue never loads the PostgreSQL dialect, nor the reverse.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    conn.execute(dialect.insert(table).on_conflict_do_nothing(), rows)
