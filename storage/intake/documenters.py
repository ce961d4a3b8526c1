"""Documenter invites: issued by this node, bound once, revocable.

    code = issue_invite(conn, node, note="Field team north", days=14, now=now)
    outcome = bind_invite(conn, node, respondent, code, now)   # "bound", "wrong", ...
    documenter_of(conn, respondent)                            # Documenter or None

The code is shown once and never stored: only its SHA-256 (the code carries 80 random
bits, so a hash cannot be reversed by guessing). The pseudonym is an HMAC of that hash
under the node's pseudonym secret, so a code bound on Telegram or at the console gives the
same pseudonym. The note says who an invite was for; it is encrypted under the node
master key and never leaves the node (not in accounts, not in the queue, not in logs).

Wrong codes are counted per respondent: more than `MAX_WRONG_CODES` in an hour and every
code, even a right one, is refused until the hour has passed, so codes cannot be guessed
through the chat.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Connection, delete, func, insert, select, update

from storage.crypto import NodeKeys, decrypt_value, encrypt_value, normalise_reference_code
from storage.errors import StorageError
from storage.intake.drafts import aad
from storage.intake.tables import documenters, invite_attempts

BindOutcome = Literal["bound", "already", "wrong", "used", "expired", "revoked", "rate-limited"]

CODE_BYTES = 10  # 16 base32 characters: 80 bits
MAX_WRONG_CODES = 5
ATTEMPT_WINDOW = timedelta(hours=1)
DEFAULT_EXPIRY_DAYS = 14
DEEP_LINK_PREFIX = "doc-"


class UnknownDocumenter(StorageError):
    """No documenter with that pseudonym on this node."""


@dataclass(frozen=True)
class Documenter:
    """One invite as `attest documenters list` shows it (the note decrypted, never logged)."""

    pseudonym: str
    note: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    accounts: int
    respondent: str | None = None

    def __repr__(self) -> str:
        return f"Documenter(pseudonym={self.pseudonym!r})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.used_at is not None


def new_invite_code() -> str:
    """A fresh code, in groups of four for reading aloud: `ABCD-EFGH-JKLM-NPQR`."""
    raw = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def code_hash(code: str) -> str:
    """SHA-256 of the normalised code (case, spaces and dashes do not matter)."""
    text = normalise_reference_code(code)
    if text.startswith("DOC") and len(text) == 3 + CODE_BYTES * 8 // 5:
        text = text[3:]  # the deep link's `doc-` prefix
    return hashlib.sha256(b"attest-invite\x1f" + text.encode("ascii", "replace")).hexdigest()


def documenter_pseudonym(node: NodeKeys, hashed: str) -> str:
    """The documenter's pseudonym: random-looking, the same wherever the code was used."""
    return "doc-" + node.pseudonym("documenter-invite", hashed)[:12]


def deep_link(username: str, code: str) -> str:
    """`https://t.me/BOT?start=doc-CODE` (the code without its dashes)."""
    return f"https://t.me/{username}?start={DEEP_LINK_PREFIX}{code.replace('-', '')}"


def issue_invite(
    conn: Connection, node: NodeKeys, *, note: str, days: int, now: datetime
) -> tuple[str, str]:
    """A new single-use invite; returns (code, pseudonym). The code exists only in the result."""
    if days < 1:
        raise ValueError("an invite lasts at least one day")
    code = new_invite_code()
    hashed = code_hash(code)
    pseudonym = documenter_pseudonym(node, hashed)
    sealed_note = (
        encrypt_value(node.master_key, note.encode("utf-8"), aad("documenters", pseudonym, "note"))
        if note
        else None
    )
    conn.execute(
        insert(documenters).values(
            pseudonym=pseudonym,
            code_hash=hashed,
            note=sealed_note,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return code, pseudonym


def list_documenters(conn: Connection, node: NodeKeys) -> list[Documenter]:
    """Every invite of this node, oldest first."""
    rows = conn.execute(select(documenters).order_by(documenters.c.created_at)).all()
    found = []
    for row in rows:
        note = ""
        if row.note is not None:
            try:
                note = decrypt_value(
                    node.master_key, row.note, aad("documenters", row.pseudonym, "note")
                ).decode("utf-8")
            except StorageError:
                note = "?"
        found.append(
            Documenter(
                pseudonym=row.pseudonym,
                note=note,
                created_at=row.created_at,
                expires_at=row.expires_at,
                used_at=row.used_at,
                revoked_at=row.revoked_at,
                accounts=row.accounts,
                respondent=row.respondent,
            )
        )
    return found


def documenter_of(conn: Connection, respondent: str) -> tuple[str, bool] | None:
    """(pseudonym, revoked) of the documenter bound to this respondent, or None."""
    row = conn.execute(
        select(documenters.c.pseudonym, documenters.c.revoked_at).where(
            documenters.c.respondent == respondent
        )
    ).first()
    if row is None:
        return None
    return row.pseudonym, row.revoked_at is not None


def bind_invite(
    conn: Connection, node: NodeKeys, respondent: str, code: str, now: datetime
) -> tuple[BindOutcome, str | None]:
    """Bind `code` to `respondent` once; (outcome, pseudonym when bound or already bound)."""
    mine = documenter_of(conn, respondent)
    if mine is not None and not mine[1]:
        return "already", mine[0]
    since = now - ATTEMPT_WINDOW
    conn.execute(delete(invite_attempts).where(invite_attempts.c.attempted_at < since))
    wrong = conn.execute(
        select(func.count()).where(
            invite_attempts.c.respondent == respondent, invite_attempts.c.attempted_at >= since
        )
    ).scalar_one()
    if wrong >= MAX_WRONG_CODES:
        return "rate-limited", None
    row = conn.execute(
        select(documenters).where(documenters.c.code_hash == code_hash(code))
    ).first()
    if row is None:
        conn.execute(insert(invite_attempts).values(respondent=respondent, attempted_at=now))
        return "wrong", None
    if row.revoked_at is not None:
        return "revoked", None
    if row.used_at is not None:
        return "used", None
    if row.expires_at <= now:
        return "expired", None
    if mine is not None:
        # A revoked documenter's chat takes a new invite: the old binding is let go.
        conn.execute(
            update(documenters).where(documenters.c.pseudonym == mine[0]).values(respondent=None)
        )
    done = conn.execute(
        update(documenters)
        .where(documenters.c.pseudonym == row.pseudonym, documenters.c.used_at.is_(None))
        .values(used_at=now, respondent=respondent)
    ).rowcount
    if not done:  # another process bound it first
        return "used", None
    return "bound", row.pseudonym


def revoke(conn: Connection, pseudonym: str, now: datetime) -> str | None:
    """Revoke a documenter (or an unused invite); the respondent whose drafts to shred."""
    row = conn.execute(
        select(documenters.c.respondent, documenters.c.revoked_at).where(
            documenters.c.pseudonym == pseudonym
        )
    ).first()
    if row is None:
        raise UnknownDocumenter(f"No documenter {pseudonym!r} on this node.")
    if row.revoked_at is None:
        conn.execute(
            update(documenters).where(documenters.c.pseudonym == pseudonym).values(revoked_at=now)
        )
    respondent: str | None = row.respondent
    return respondent


def count_account(conn: Connection, pseudonym: str) -> None:
    """One more account recorded by this documenter."""
    conn.execute(
        update(documenters)
        .where(documenters.c.pseudonym == pseudonym)
        .values(accounts=documenters.c.accounts + 1)
    )


def save_profile(conn: Connection, node: NodeKeys, pseudonym: str, profile: dict[str, str]) -> None:
    """Keep the documenter's profile answers (encrypted); an empty one asks them again."""
    blob = (
        encrypt_value(
            node.master_key,
            json.dumps(profile, sort_keys=True).encode("utf-8"),
            aad("documenters", pseudonym, "profile"),
        )
        if profile
        else None
    )
    conn.execute(
        update(documenters).where(documenters.c.pseudonym == pseudonym).values(profile=blob)
    )


def load_profile(conn: Connection, node: NodeKeys, pseudonym: str) -> dict[str, str]:
    """The documenter's kept profile answers (step id -> option id); {} when none."""
    blob = conn.execute(
        select(documenters.c.profile).where(documenters.c.pseudonym == pseudonym)
    ).scalar()
    if blob is None:
        return {}
    try:
        plain = decrypt_value(node.master_key, blob, aad("documenters", pseudonym, "profile"))
        found = json.loads(plain)
    except (StorageError, ValueError):
        return {}  # asked again: nothing is lost but two taps
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str)}
