"""The SQL every read of an account shares: tolerant times, what is listed, the order.

Split from `storage.queue.items` (plain data) so that a listing can build items without
SQLAlchemy (`storage.queue.readonly`, issue 16: start-up); that module writes the same
conditions by hand, and a test compares the two listings row for row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    exists,
    func,
    not_,
    null,
    or_,
    select,
    type_coerce,
)

from storage.queue.items import EARLIEST_TIME, LATEST_TIME
from storage.queue.tables import SUBMITTED, account_notes, accounts, withdrawals

# A time column as every read of it takes it: NULL unless between these bounds, and
# left unparsed by SQLAlchemy (`stored_time` parses it). Nodes write received_at and
# submitted_at (a field kit's too), and one value no reader could load failed the whole
# statement: on SQLite any text (SQLAlchemy's parser raised), on PostgreSQL a valid
# timestamp outside Python's years 1-9999 such as 'infinity' (psycopg raised). The
# bounds keep a day's margin so no time zone can carry a value out of range.
_EARLIEST, _LATEST = EARLIEST_TIME, LATEST_TIME


def tolerant_time(column: Any) -> ColumnElement[Any]:
    return type_coerce(
        case((column.between(_EARLIEST, _LATEST), column), else_=null()), String
    ).label(column.name)


def damaged_time(column: Any, dialect: str) -> ColumnElement[bool]:
    """SQL: the column holds something, but not a time a reader can load."""
    unreadable = not_(column.between(_EARLIEST, _LATEST))
    if dialect == "sqlite":  # free text may still sort between the bounds
        unreadable = or_(unreadable, func.datetime(column).is_(None))
    return and_(column.isnot(None), unreadable)


RECEIVED_AT = tolerant_time(accounts.c.received_at)
TIME_COLUMNS = ("received_at", "submitted_at", "lease_until", "updated_at", "withdrawn_at")

# The accounts columns for reading an account or a listing, every time as above, and
# `withdrawn` (whether withdrawn_at holds anything, damaged or not: a tombstone whose
# time is damaged is still a tombstone).
ACCOUNT_COLUMNS = (
    *(column for column in accounts.c if column.name not in TIME_COLUMNS),
    *(tolerant_time(accounts.c[name]) for name in TIME_COLUMNS),
    accounts.c.withdrawn_at.isnot(None).label("withdrawn"),
)
NOTE_COLUMNS = (
    *(column for column in account_notes.c if column.name != "created_at"),
    tolerant_time(account_notes.c.created_at),
)


# An accepted request whose hash (computed by the queue) names the account. A held one
# (a burst, waiting for an administrator) hides nothing yet.
PENDING_WITHDRAWAL = exists(
    select(withdrawals.c.secret_hash).where(
        withdrawals.c.secret_hash == accounts.c.withdrawal_hash,
        withdrawals.c.status == "accepted",
    )
)
VISIBLE = and_(
    accounts.c.withdrawn_at.is_(None), accounts.c.sealed.isnot(None), ~PENDING_WITHDRAWAL
)
ORDER = (accounts.c.urgent.desc(), SUBMITTED, accounts.c.received_at, accounts.c.id)
