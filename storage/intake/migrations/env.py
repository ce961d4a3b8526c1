"""Alembic environment: the engine comes from storage.intake.migrations or from the environment."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import context
from sqlalchemy import Connection, Engine, text

from storage.db import create_store_engine
from storage.intake.tables import metadata

# Any fixed number: only migrators of this store take this PostgreSQL advisory lock.
MIGRATION_LOCK = 7_204_311


def _engine() -> Engine:
    given = context.config.attributes.get("engine")
    if given is not None:
        return given  # type: ignore[no-any-return]
    url = os.environ.get("ATTEST_DATABASE_URL")
    if url:
        return create_store_engine(url)
    data_dir = Path(os.environ.get("ATTEST_DATA_DIR", "./attest-data"))
    return create_store_engine(data_dir / "intake.db")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several bot processes may start at once; one migrates, the others wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        context.run_migrations()


def run_migrations_online() -> None:
    given = context.config.attributes.get("engine")
    engine = _engine()
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        if given is None:
            engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run them online.")
run_migrations_online()
