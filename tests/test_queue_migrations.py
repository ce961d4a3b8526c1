"""The queue's migrations build exactly the tables storage/queue/tables.py declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.queue.admin import migrate_queue, open_queue
from storage.queue.tables import metadata
from tests.queue_support import BACKENDS, fresh_queue_url


@pytest.fixture(params=BACKENDS)
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(request.param, tmp_path)


def test_migrations_match_the_declared_tables(queue_url: str) -> None:
    engine = open_queue(queue_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "alembic_version_queue"})
        diff = compare_metadata(context, metadata)
        names = {
            table: {i["name"] for i in inspect(conn).get_indexes(table)} for table in ("accounts",)
        }
    engine.dispose()
    # Autogenerate cannot compare expression indexes (urgent DESC); their names are checked below.
    real = [
        d for d in diff if not (d[0] in {"add_index", "remove_index"} and "accounts" in str(d[1]))
    ]
    assert real == []
    assert {"ix_accounts_order", "ix_accounts_status_order", "ix_accounts_claimable"} <= names[
        "accounts"
    ]


def test_migrating_twice_keeps_the_queue_id(queue_url: str) -> None:
    engine = open_queue(queue_url)
    assert migrate_queue(engine) == migrate_queue(engine)
    engine.dispose()
