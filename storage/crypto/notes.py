"""Reviewer notes on an account, readable by exactly the reviewers the account was sealed to.

A note is AES-256-GCM under a key derived (HKDF-SHA256) from the account's content key,
so no new key distribution is needed: whoever can open the account can read and write
its notes, nobody else can. The AAD binds the account id and the note id, so a note
cannot be moved to another account or swapped with another note. Opening the content key
goes through the same checks as `open_account` (pinned node, signature, recipient).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.crypto.drafts import decrypt_value, encrypt_value
from storage.crypto.reseal import Reseal
from storage.crypto.reviewer import ReviewerPrivateKey, ReviewerPublicKey
from storage.crypto.seal import SealedAccount, open_content_key

_NOTES_INFO = b"attest-account-notes-v1\n"
_NOTE_AAD = b"attest-note-v1\n"


def notes_key(
    sealed: SealedAccount,
    key: ReviewerPrivateKey,
    trusted_nodes: Mapping[str, bytes],
    reseals: Sequence[Reseal] = (),
    trusted_reviewers: Mapping[str, ReviewerPublicKey] | None = None,
) -> bytes:
    """The key for this account's notes; the same errors as `open_account`."""
    content_key = open_content_key(sealed, key, trusted_nodes, reseals, trusted_reviewers)
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=_NOTES_INFO + sealed.account_id.encode("ascii"),
    ).derive(content_key)


def _aad(account_id: str, note_id: str) -> bytes:
    return _NOTE_AAD + account_id.encode("ascii") + b"\n" + note_id.encode("ascii")


def seal_note(notes_key_: bytes, account_id: str, note_id: str, text: str) -> bytes:
    return encrypt_value(notes_key_, text.encode("utf-8"), _aad(account_id, note_id))


def open_note(notes_key_: bytes, account_id: str, note_id: str, blob: bytes) -> str:
    """The note's text; TamperedData if it was changed or moved."""
    return decrypt_value(notes_key_, blob, _aad(account_id, note_id)).decode("utf-8")
