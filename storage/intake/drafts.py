"""Encryption of what the intake store keeps for a draft: session state, file details, chat ids.

Every value is bound to its place by AAD `table|owner|column` (owner: the respondent
pseudonym, or a file id), so a blob moved to another row or column does not decrypt.

    sessions.wrapped_key   data key of the draft, wrapped by the node master key
    sessions.blob          the session in encrypted segments under the data key, a turn
                           appending its new answers (storage/intake/session_blob.py)
    files.details          a file's key and custody details, under the draft's data key,
                           so shredding the draft also makes its files unreadable
    chat_messages.*        message ids, under a per-row key wrapped by the master key;
                           not under the draft key, because quick exit shreds the draft
                           and still needs the ids to erase the chat

Any failure to open a stored value becomes `CorruptDraft`, whose message carries no content.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from flows.types import Session
from storage.crypto import decrypt_value, encrypt_value, new_data_key, unwrap_key, wrap_key
from storage.errors import CorruptDraft, StorageError
from storage.intake import session_blob


def aad(table: str, owner: str, column: str) -> bytes:
    """The associated data binding a value to one row and column."""
    return f"{table}|{owner}|{column}".encode()


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def new_draft_key(master: bytes, respondent: str) -> tuple[bytes, bytes]:
    """A fresh data key for a draft and its wrapped form for `sessions.wrapped_key`."""
    key = new_data_key()
    return key, wrap_key(master, key, aad("sessions", respondent, "wrapped_key"))


def open_draft_key(master: bytes, respondent: str, wrapped: bytes) -> bytes:
    try:
        return unwrap_key(master, wrapped, aad("sessions", respondent, "wrapped_key"))
    except (StorageError, ValueError):
        raise CorruptDraft() from None


def encrypt_session(key: bytes, session: Session) -> bytes:
    """The session's stored form (storage/intake/session_blob.py)."""
    return session_blob.encode_session(key, session)


def decrypt_session(key: bytes, respondent: str, blob: bytes) -> Session:
    """The stored session; CorruptDraft when the blob is damaged or not this respondent's."""
    return session_blob.decode_session(key, respondent, blob)


@dataclass(frozen=True)
class FileDetails:
    """What a reviewer needs to open one encrypted file, and its chain-of-custody data.

    The file on disk is `encrypt_file(plaintext, key, aad=file_aad(file_id))`.
    """

    file_id: str
    key: bytes
    kind: str
    mime_type: str | None
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["key"] = base64.b64encode(self.key).decode("ascii")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileDetails:
        return cls(
            file_id=d["file_id"],
            key=base64.b64decode(d["key"]),
            kind=d["kind"],
            mime_type=d.get("mime_type"),
            sha256=d["sha256"],
            size=int(d["size"]),
        )

    def sealed_entry(self) -> dict[str, Any]:
        """The entry for the sealed body: the key plus how to open the file."""
        return {**self.to_dict(), "aad": file_aad(self.file_id).decode("ascii")}


def file_aad(file_id: str) -> bytes:
    """AAD of a file's chunks on disk."""
    return aad("files", file_id, "content")


def encrypt_file_details(key: bytes, details: FileDetails) -> bytes:
    return encrypt_value(key, _json(details.to_dict()), aad("files", details.file_id, "details"))


def decrypt_file_details(key: bytes, file_id: str, blob: bytes) -> FileDetails:
    try:
        plain = decrypt_value(key, blob, aad("files", file_id, "details"))
        details = FileDetails.from_dict(json.loads(plain))
    except (StorageError, ValueError, KeyError, TypeError):
        raise CorruptDraft() from None
    if details.file_id != file_id:
        raise CorruptDraft()
    return details


def encrypt_message_ids(
    master: bytes, respondent: str, message_ids: Sequence[int]
) -> tuple[bytes, bytes]:
    """(wrapped row key, encrypted ids) for one chat_messages row."""
    key = new_data_key()
    wrapped = wrap_key(master, key, aad("chat_messages", respondent, "wrapped_key"))
    blob = encrypt_value(
        key, _json([int(i) for i in message_ids]), aad("chat_messages", respondent, "blob")
    )
    return wrapped, blob


def decrypt_message_ids(master: bytes, respondent: str, wrapped: bytes, blob: bytes) -> list[int]:
    try:
        key = unwrap_key(master, wrapped, aad("chat_messages", respondent, "wrapped_key"))
        ids = json.loads(decrypt_value(key, blob, aad("chat_messages", respondent, "blob")))
        return [int(i) for i in ids]
    except (StorageError, ValueError, TypeError):
        raise CorruptDraft() from None
