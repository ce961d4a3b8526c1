"""Opening an account for a reviewer: every check first, then the verified body.

`open_verified` refuses (raises) unless all of these hold:

    the node that signed it is pinned by this reviewer        UntrustedNode
    a reseal (if the node did not seal to this key) is signed UntrustedReviewer /
      by a pinned reviewer (or a demo key pinned for          TamperedData
      recovery: then the account is marked)
    the node's signature covers id, metadata, recipients, body TamperedData
    the body decrypts under this reviewer's key               NotARecipient / TamperedData
    the queue's plaintext columns equal the signed metadata   VerificationFailed
    the consent scopes in the body equal the signed ones      VerificationFailed
    every answer matches the SHA-256 taken on receipt         VerificationFailed
    every attached file is present, decrypts, and matches     VerificationFailed / TamperedData
      its SHA-256 and size (with check_files)

Nothing here prints; `review/show.py` renders what it returns.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from storage.errors import N_, StorageError, UntrustedAfter
from storage.queue.items import QueueItem, StoredAccount
from storage.queue.rows import metadata_mismatches

# What opens accounts loads `cryptography`, and the queue SQLAlchemy: imported where they
# are used, so that a listing (`attest review list`) loads neither (issue 16: start-up).
if TYPE_CHECKING:
    from storage.crypto.reseal import Reseal
    from storage.crypto.reviewer import ReviewerPrivateKey, ReviewerPublicKey
    from storage.queue.store import Queue


class VerificationFailed(StorageError):
    """The account is not what the node signed or received; it was not shown."""

    default_message = N_(
        "This account failed verification and was not shown: something in the queue was "
        "changed after the node signed it. Tell your administrator; do not rely on it."
    )

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what  # field or step names only, never content


@dataclass(frozen=True)
class FileEntry:
    """One attached file as the sealed body describes it (the key stays inside `entry`)."""

    number: int
    file_id: str
    kind: str
    mime_type: str | None
    sha256: str
    size: int
    entry: Mapping[str, Any]


@dataclass(frozen=True)
class OpenedAccount:
    item: QueueItem
    body: dict[str, Any]
    files: tuple[FileEntry, ...]
    # Set when the node key was untrusted after this time and the account came before it.
    untrusted_after: datetime | None = None
    # Opened through a reseal signed by a demo key pinned for recovery: who resealed it is
    # not known (anyone with the node's machine holds that key).
    resealed_by_demo: str | None = None

    @property
    def scopes(self) -> dict[str, str]:
        return dict(self.body.get("consent", {}).get("scopes", {}))

    @property
    def answers(self) -> list[dict[str, Any]]:
        return list(self.body.get("answers", []))


class _HashingSink:
    """A write-only stream that only hashes, to check a file without keeping it."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def file_entries(body: Mapping[str, Any]) -> tuple[FileEntry, ...]:
    raw = body.get("custody", {}).get("files", [])
    return tuple(
        FileEntry(
            number=i,
            file_id=str(entry["file_id"]),
            kind=str(entry.get("kind", "file")),
            mime_type=entry.get("mime_type"),
            sha256=str(entry["sha256"]),
            size=int(entry["size"]),
            entry=entry,
        )
        for i, entry in enumerate(raw, start=1)
    )


def _file_key(entry: FileEntry) -> tuple[bytes, bytes]:
    key = base64.b64decode(str(entry.entry["key"]))
    return key, str(entry.entry["aad"]).encode("ascii")


def decrypt_attachment(queue: Queue, account_id: str, entry: FileEntry, dst: BinaryIO) -> None:
    """Decrypt one file into `dst` and check it against the hash sealed in the body.

    On failure `dst` may hold a prefix of authentic chunks; the caller discards it.
    """
    data = queue.file_data(account_id, entry.file_id)
    if data is None:
        raise VerificationFailed(f"file {entry.number} missing")
    key, aad = _file_key(entry)

    from storage.crypto import decrypt_file

    sha256, size = decrypt_file(io.BytesIO(data), dst, key, aad)
    if sha256 != entry.sha256 or size != entry.size:
        raise VerificationFailed(f"file {entry.number} hash")


def _answer_sha256(value: Any) -> str | None:
    # flows.account (and with it the flow machinery) only when an account is opened.
    from flows.account import answer_sha256

    return answer_sha256(value)


def _check_answers(body: Mapping[str, Any]) -> None:
    for answer in body.get("answers", []):
        recorded = answer.get("sha256")
        value = answer.get("value")
        if recorded is None and value is None:
            continue
        if isinstance(value, list):
            value = tuple(value)
        if _answer_sha256(value) != recorded:
            raise VerificationFailed(f"answer {answer.get('step')}")


def signing_keys(reviewers: Mapping[str, ReviewerPublicKey]) -> dict[str, bytes]:
    """Fingerprint -> raw Ed25519 key of the pinned reviewers that can sign."""
    return {fp: k.signing_key for fp, k in reviewers.items() if k.signing_key is not None}


def reseals_for_key(queue: Queue, stored: StoredAccount, key: ReviewerPrivateKey) -> list[Reseal]:
    """The reseals of this account for `key`, if the node did not seal to it (unchecked)."""
    if key.fingerprint in stored.sealed.recipients:
        return []
    from storage.queue.reseals import reseals_for

    return reseals_for(queue, stored.item.account_id, key.fingerprint)


def open_verified(
    queue: Queue,
    stored: StoredAccount,
    key: ReviewerPrivateKey,
    trusted_nodes: Mapping[str, bytes],
    *,
    node_cutoffs: Mapping[str, datetime] | None,
    check_files: bool = True,
    trusted_reviewers: Mapping[str, ReviewerPublicKey] | None = None,
    demo_resealers: Mapping[str, ReviewerPublicKey] | None = None,
    receipt_signers: Mapping[str, ReviewerPublicKey] | None = None,
) -> OpenedAccount:
    """The verified account, or an exception naming which check failed (see module doc).

    `node_cutoffs` (`attest keys untrust-node FP --after TIME`) must be given, None only
    where there are none: every caller that forgot them opened what they refuse. The
    receipts that show an account came before a cut-off count when signed by a reviewer
    in `receipt_signers` (default: `trusted_reviewers`), which opens no reseal.

    A key the node did not seal to opens it through a reseal signed by a reviewer in
    `trusted_reviewers` (`attest review reseal`), or by a demo key in `demo_resealers`
    (pinned with --demo-recovery): such an account comes back marked `resealed_by_demo`.
    A demo key counts for nothing else (not for receipts, below). Either way the content
    key must decrypt the node-signed body, so no reseal changes what the account says.
    """
    untrusted_after = (node_cutoffs or {}).get(stored.sealed.node_fingerprint)
    from storage.crypto import open_account
    from storage.queue.untrust import received_before

    if untrusted_after is not None and not received_before(
        queue,
        stored.item.account_id,
        stored.sealed.node_fingerprint,
        untrusted_after,
        signing_keys(receipt_signers if receipt_signers is not None else trusted_reviewers or {}),
        trusted_nodes,
    ):
        raise UntrustedAfter()
    reseals = reseals_for_key(queue, stored, key)
    trusted = dict(trusted_reviewers or {})
    demo = {fp: k for fp, k in (demo_resealers or {}).items() if fp not in trusted}
    body = open_account(stored.sealed, key, trusted_nodes, reseals, {**demo, **trusted})
    # open_content_key used the first reseal for this key (there is one per recipient).
    by_demo = reseals[0].resealer if reseals and reseals[0].resealer in demo else None
    wrong = metadata_mismatches(stored.item, stored.sealed)
    if wrong:
        raise VerificationFailed("queue columns " + ", ".join(wrong))
    signed_scopes = stored.sealed.metadata.get("scopes")
    if body.get("consent", {}).get("scopes") != signed_scopes:
        raise VerificationFailed("consent scopes")
    _check_answers(body)
    entries = file_entries(body)
    if check_files:
        for entry in entries:
            decrypt_attachment(queue, stored.item.account_id, entry, _HashingSink())  # type: ignore[arg-type]
    return OpenedAccount(stored.item, body, entries, untrusted_after, by_demo)


def write_attachment(queue: Queue, account_id: str, entry: FileEntry, out: Path) -> None:
    """Decrypt a file to `out` only if all of it verifies (written beside, then renamed)."""
    # A new owner-only file of a random name (mkstemp: O_EXCL, 0600): the decrypted file is
    # as sensitive as the account. A fixed name opened with O_TRUNC kept the permissions
    # of a file left there (perhaps world-readable) and followed a link planted there.
    import tempfile  # here: a listing does not write files

    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as dst:
            decrypt_attachment(queue, account_id, entry, dst)
            dst.flush()
            os.fsync(dst.fileno())
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
