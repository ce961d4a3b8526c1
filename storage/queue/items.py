"""What the queue hands out: items, stored accounts, notes, the errors; no SQL here.

Plain data and checks only, so the read-only listing (`storage.queue.readonly`) builds the
same items without SQLAlchemy (issue 16: start-up). The SQL that every read of an account
shares (tolerant times, what is visible, the order) is in `storage.queue.columns`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storage.errors import N_, CorruptData, StorageError

if TYPE_CHECKING:
    from storage.crypto import SealedAccount


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


def scopes_of(raw: str | None) -> dict[str, str]:
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

# The times a reader can load: a day's margin inside Python's years 1-9999, so that no
# time zone carries a value out of range (`storage.queue.columns.tolerant_time`).
EARLIEST_TIME = datetime(1, 1, 2, tzinfo=UTC)
LATEST_TIME = datetime(9999, 12, 30, tzinfo=UTC)


def item_of(row: Any, tags: Sequence[str] = ()) -> QueueItem:
    return QueueItem(
        account_id=row.id,
        received_at=stored_time(row.received_at),
        submitted_at=stored_time(row.submitted_at),
        flow=row.flow,
        language=row.language,
        channel=row.channel,
        urgent=bool(row.urgent),
        scopes=scopes_of(row.scopes),
        status=row.status,
        assignee=row.assignee,
        lease_until=stored_time(row.lease_until),
        node_fingerprint=row.node_fingerprint,
        withdrawn_at=stored_time(row.withdrawn_at),
        tags=tuple(sorted(tags)),
        mode=row.mode or "survivor",
        documenter=row.documenter,
    )
