"""Recording node signing keys in the queue's `nodes` table, refusing any conflict loudly.

A row is only useful if its key hashes to its fingerprint; a row that does not, or that
differs from a key already recorded under the same fingerprint, is what someone who
planted a key would send. Sync and field-kit import refuse the whole batch then, with a
message, instead of the silent INSERT ... ON CONFLICT DO NOTHING that hid it before.

On PostgreSQL a CHECK (migration 0003) makes every stored row hash-consistent, so an
existing row with the same fingerprint holds the same key and a conflict is harmless;
the node's INSERT-only role could not read it to compare anyway. On SQLite (a file:
whoever holds it may write anything) the stored key is read and compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from storage.crypto import fingerprint_of
from storage.db import insert_ignore
from storage.errors import N_, StorageError
from storage.queue.tables import nodes


class NodeKeyConflict(StorageError):
    default_message = N_(
        "A node key does not match its fingerprint, or the queue already holds a different "
        "key under the same fingerprint: someone may have planted a key. Nothing was "
        "written. Keep the file or queue for your administrator to examine."
    )


def record_node_keys(conn: Connection, keys: Mapping[str, bytes], now: datetime) -> None:
    """Insert each (fingerprint, key) not there yet; NodeKeyConflict on any mismatch."""
    for fingerprint, key in keys.items():
        if fingerprint_of(key) != fingerprint:
            raise NodeKeyConflict()
    if not keys:
        return
    if conn.dialect.name != "postgresql":
        stored = conn.execute(
            select(nodes.c.fingerprint, nodes.c.public_key).where(
                nodes.c.fingerprint.in_(list(keys))
            )
        ).all()
        if any(bytes(row.public_key) != keys[row.fingerprint] for row in stored):
            raise NodeKeyConflict()
    rows = [{"fingerprint": fp, "public_key": key, "first_seen": now} for fp, key in keys.items()]
    try:
        insert_ignore(conn, nodes, rows)
    except IntegrityError:
        # The CHECK on PostgreSQL: cannot happen after the test above, kept as the backstop.
        raise NodeKeyConflict() from None
