"""Alembic environment of the reviewer queue (separate from the intake store's).

Run through `storage.queue.admin.migrate_queue`, which passes an open connection in
`config.attributes["connection"]`. The version table has its own name so the queue and
the intake store can share one PostgreSQL database.
"""

from __future__ import annotations

from alembic import context

from storage.queue.tables import metadata

VERSION_TABLE = "alembic_version_queue"

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run queue migrations through `attest queue init`.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
