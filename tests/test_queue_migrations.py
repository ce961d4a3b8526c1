"""The queue's migrations build exactly the tables storage/queue/tables.py declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.queue.admin import migrate_queue, open_queue
from storage.queue.tables import metadata, partial_indexes
from tests.queue_support import BACKENDS, fresh_queue_url


@pytest.fixture(params=BACKENDS)
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(request.param, tmp_path)


def test_migrations_match_the_declared_tables(queue_url: str) -> None:
    partial_indexes()  # declared on demand (issue 16), compared with the rest
    engine = open_queue(queue_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "alembic_version_queue"})
        diff = compare_metadata(context, metadata)
        # SQLite's reflection skips expression indexes (issue 16 orders by coalesce(...)).
        listed = (
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'accounts'"
            if conn.dialect.name == "sqlite"
            else "SELECT indexname FROM pg_indexes WHERE tablename = 'accounts' "
            "AND schemaname = current_schema()"
        )
        names = {"accounts": set(conn.exec_driver_sql(listed).scalars())}
    engine.dispose()
    # Autogenerate cannot compare expression indexes (urgent DESC); their names are checked below.
    real = [
        d for d in diff if not (d[0] in {"add_index", "remove_index"} and "accounts" in str(d[1]))
    ]
    assert real == []
    assert {
        "ix_accounts_order",
        "ix_accounts_status_order",
        "ix_accounts_claimable",
        "ix_accounts_receipt_unlogged",
    } <= names["accounts"]


def test_migrating_twice_keeps_the_queue_id(queue_url: str) -> None:
    engine = open_queue(queue_url)
    assert migrate_queue(engine) == migrate_queue(engine)
    engine.dispose()
