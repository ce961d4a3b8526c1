"""Database files are the owner's alone, even in a data directory others may list."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from storage.db import create_store_engine


def test_a_new_sqlite_file_and_its_wal_are_owner_only(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)  # as an operator's `mkdir -p` under a usual umask leaves it
    engine = create_store_engine(shared / "queue.db")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        created = sorted(shared.iterdir())
        assert [p.name for p in created][:2] == ["queue.db", "queue.db-shm"]
        for path in created:
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
    finally:
        engine.dispose()


def test_an_existing_file_keeps_working(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    first = create_store_engine(path)
    with first.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    first.dispose()
    again = create_store_engine(path)
    with again.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    again.dispose()
