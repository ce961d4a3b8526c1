"""What the queue hands out: items, stored accounts, notes, the errors, shared filters."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

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

from storage.errors import N_, CorruptData, StorageError

if TYPE_CHECKING:
    from storage.crypto import SealedAccount
from storage.queue.tables import SUBMITTED, account_notes, accounts, withdrawals


class QueueError(StorageError):
    """A reviewer action on the queue cannot be done; the message says why."""


class AccountNotFound(QueueError):
    default_message = N_("There is no account with that id in the queue.")


class AccountWithdrawn(QueueError):
    default_message = N_(
        "This account was withdrawn by the person who gave it. Only its tombstone remains."
    )


class HeldByAnother(QueueError):
    default_message = N_(
        "Another reviewer holds this account right now. Pick another one, or wait until "
        "their lease ends."
    )


class NotHeld(QueueError):
    default_message = N_("You do not hold this account, so there is nothing to release.")


class UnknownStatus(QueueError):
    default_message = N_(
        "Unknown status. Use one of: new, in-review, follow-up, referred, verified, closed."
    )


class InvalidTag(QueueError):
    default_message = N_(
        "A tag is 1 to 32 letters (of any script), digits, - or _: no spaces, commas or "
        "other signs. Nothing was changed."
    )


class IdTooShort(QueueError):
    default_message = N_(
        "Give at least 6 characters of the account id (as `attest review list` shows it)."
    )


class AmbiguousId(QueueError):
    default_message = N_(
        "More than one account id starts with that. Give more of it (`attest review list "
        "--json` shows whole ids)."
    )


MIN_ID_PREFIX = 6


def normal_tag(tag: str) -> str:
    """The tag as stored and matched: NFC; InvalidTag unless 1-32 letters, digits, - or _."""
    tag = unicodedata.normalize("NFC", tag)
    # A combining mark belongs to the letter before it (Arabic vowels, Devanagari signs).
    allowed = all(
        c in "-_"
        or c.isalnum()
        or (unicodedata.category(c).startswith("M") and i > 0 and tag[i - 1] not in "-_")
        for i, c in enumerate(tag)
    )
    if not (1 <= len(tag) <= 32) or not allowed:
        raise InvalidTag()
    return tag


@dataclass(frozen=True)
class QueueItem:
    """What the queue shows of an account without opening it."""

    account_id: str
    # Every time is None if its stored value is damaged (see `tolerant_time`).
    received_at: datetime | None
    submitted_at: datetime | None
    flow: str | None
    language: str | None
    channel: str | None
    urgent: bool
    scopes: dict[str, str]
    status: str
    assignee: str | None
    lease_until: datetime | None
    node_fingerprint: str | None
    withdrawn_at: datetime | None
    tags: tuple[str, ...] = ()
    mode: str = "survivor"  # or "documenter"
    documenter: str | None = None  # the documenter's pseudonym (documenter mode)


@dataclass(frozen=True)
class StoredAccount:
    """A sealed account as the queue holds it, with the ids of its encrypted files."""

    item: QueueItem
    sealed: SealedAccount
    file_ids: tuple[str, ...]


@dataclass(frozen=True)
class StoredNote:
    note_id: str
    author: str
    created_at: datetime | None  # None if the stored value is damaged
    sealed: bytes


def reviewer_actor(fingerprint: str) -> str:
    return f"reviewer:{fingerprint}"


def sealed_of(raw: str | bytes) -> SealedAccount:
    """The sealed account of a queue row; CorruptData (no content) if the row is damaged."""
    from storage.crypto import SealedAccount  # only when a body is read (start-up time)

    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError included
        raise CorruptData() from None
    return SealedAccount.from_dict(document)


def _scopes(raw: str | None) -> dict[str, str]:
    """The plaintext scopes column; damaged gives {} so one bad row does not stop a listing.

    Nothing relies on this copy: `review show` compares it with the signed metadata (a
    damaged one fails that check) and exports read the scopes from the verified body.
    """
    if not raw:
        return {}
    try:
        scopes = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return scopes if isinstance(scopes, dict) else {}


def stored_time(value: object) -> datetime | None:
    """A time read through `tolerant_time`: aware UTC, or None if it is not a time."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


received_time = stored_time  # the name the received_at fix gave it


# A time column as every read of it takes it: NULL unless between these bounds, and
# left unparsed by SQLAlchemy (`stored_time` parses it). Nodes write received_at and
# submitted_at (a field kit's too), and one value no reader could load failed the whole
# statement: on SQLite any text (SQLAlchemy's parser raised), on PostgreSQL a valid
# timestamp outside Python's years 1-9999 such as 'infinity' (psycopg raised). The
# bounds keep a day's margin so no time zone can carry a value out of range.
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)


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


def item_of(row: Any, tags: Sequence[str] = ()) -> QueueItem:
    return QueueItem(
        account_id=row.id,
        received_at=stored_time(row.received_at),
        submitted_at=stored_time(row.submitted_at),
        flow=row.flow,
        language=row.language,
        channel=row.channel,
        urgent=bool(row.urgent),
        scopes=_scopes(row.scopes),
        status=row.status,
        assignee=row.assignee,
        lease_until=stored_time(row.lease_until),
        node_fingerprint=row.node_fingerprint,
        withdrawn_at=stored_time(row.withdrawn_at),
        tags=tuple(sorted(tags)),
        mode=row.mode or "survivor",
        documenter=row.documenter,
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
