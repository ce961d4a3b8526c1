"""Names every reader of the queue shares, without SQLAlchemy: revision, statuses.

The read-only listing (`storage.queue.readonly`) checks a queue against these with the
standard library's sqlite3, so they live apart from the tables and migrations (issue 16:
start-up); `tables.py`, `admin.py` and `withdrawals.py` take them from here.
"""

from __future__ import annotations

from storage.errors import N_

# The newest migration (storage/queue/migrations/versions); a test keeps it in step.
QUEUE_HEAD = "0007"
# Alembic's version table of the queue: its own, so it can share a PostgreSQL database.
VERSION_TABLE = "alembic_version_queue"

# An account's status as the queue shows it.
STATUSES: tuple[str, ...] = ("new", "in-review", "follow-up", "referred", "verified", "closed")

# A withdrawal request examined by a reviewer or administrator command: accepted (it
# applies) or held (part of a burst, waiting for `attest queue withdrawals`).
ACCEPTED = "accepted"
HELD = "held"
WAITING_NOTICE = N_(
    "{count} withdrawal requests are waiting for an account that has not arrived: "
    "`attest queue withdrawals list` shows when they were made."
)
HELD_NOTICE = N_(
    "{count} withdrawal requests arrived together and are held: nothing was erased. An "
    "administrator decides with `attest queue withdrawals list`, then `confirm` or `reject`."
)
