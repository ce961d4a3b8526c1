"""Triage keys: a reviewer's second, lower-value signing key, kept without a passphrase.

Claims, releases, tag and status changes touch no sealed data, yet every audit entry is
signed by the reviewer it names (issue 15). Asking the passphrase for each of them pushes
people to put it in the environment (issue 16). So each reviewer also has a triage key:
an Ed25519 key in `reviewer.triage` beside `reviewer.key`, owner-only (0600; a file that
group or others can read is refused when loaded, with the fix) but not wrapped,
certified by the reviewer's main signing key. `audit verify` accepts it only for those
four kinds of entry (`storage.queue.triage_signatures`); whoever steals it can
claim, release, tag and move accounts in that reviewer's name, never open, export, note
or reseal anything.

The certificate is the main key's Ed25519 signature over

    b"attest-triage-certificate-v1\\n" || canonical_json({reviewer, triage_key,
                                                          issued_at, replaces_earlier})

(`reviewer` the main key's fingerprint, `triage_key` the raw public key in base64). A
certificate with `replaces_earlier` (made by `attest keys new-triage-key`) retires every
triage key of that reviewer certified before it, from the moment it is in the log: the
command writes it there at once (a `triage-key-replaced` entry signed with the main key),
and the new key's first entry carries it too.

    reviewer.triage  {"kind": "attest-reviewer-triage-key", "version": 1,
                      "reviewer": fingerprint, "private_key": b64 Ed25519 seed,
                      "certificate": {reviewer, triage_key, issued_at,
                                      replaces_earlier, signature}}

The file holds nothing of the main key: losing it gives away the triage key only.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storage.crypto.keyfiles import (
    PRIVATE_FILE_MODE,
    b64decode,
    b64encode,
    canonical_json,
    create_file_once,
    json_bytes,
    read_json_file,
    replace_file,
    require_int,
    require_str,
)
from storage.crypto.node import verify_node_signature
from storage.errors import N_, CannotSign, CorruptData, KeyFileExposed

if TYPE_CHECKING:
    from storage.crypto.reviewer import ReviewerPrivateKey, ReviewerPublicKey

TRIAGE_KIND = "attest-reviewer-triage-key"
TRIAGE_SUFFIX = ".triage"
_CERTIFICATE_LABEL = b"attest-triage-certificate-v1\n"
NOT_THIS_REVIEWERS = N_(
    "The triage key file beside your reviewer key belongs to another key or was changed. "
    "Make a new one: attest keys new-triage-key"
)
DAMAGED = N_(
    "The triage key file beside your reviewer key is damaged. Make a new one: "
    "attest keys new-triage-key"
)

EXPOSED = N_(
    "The triage key file {path} can be read by other users of this computer, so it was "
    "not used: it has no passphrase, and whoever reads it can claim, release and tag "
    "accounts in your name. Make it readable by you alone with `chmod 600 {path}`. If "
    "someone else may have copied it meanwhile, run 'attest keys new-triage-key' instead, "
    "which retires it."
)


def triage_key_path(key_path: Path) -> Path:
    """Where the triage key of the reviewer key file `key_path` lives (reviewer.triage)."""
    return key_path.with_suffix(TRIAGE_SUFFIX)


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CorruptData(DAMAGED) from None
    if parsed.tzinfo is None:
        raise CorruptData(DAMAGED)
    return parsed.astimezone(UTC)


@dataclass(frozen=True)
class TriageCertificate:
    """The main key's word that `triage_key` may sign triage entries as `reviewer`."""

    reviewer: str
    triage_key: bytes = field(repr=False)
    issued_at: str
    replaces_earlier: bool
    signature: bytes = field(repr=False)

    def signed_bytes(self) -> bytes:
        payload = {
            "reviewer": self.reviewer,
            "triage_key": b64encode(self.triage_key),
            "issued_at": self.issued_at,
            "replaces_earlier": self.replaces_earlier,
        }
        return _CERTIFICATE_LABEL + canonical_json(payload)

    def signed_by(self, main: ReviewerPrivateKey) -> TriageCertificate:
        """This certificate signed by `main` (CannotSign for a version 1 key)."""
        return replace(self, signature=main.sign(self.signed_bytes()))

    def verifies(self, signing_key: bytes) -> bool:
        """Whether the main signing key `signing_key` (raw Ed25519) made this certificate."""
        return verify_node_signature(signing_key, self.signature, self.signed_bytes())

    @property
    def issued(self) -> datetime:
        return _parse_time(self.issued_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "reviewer": self.reviewer,
            "triage_key": b64encode(self.triage_key),
            "issued_at": self.issued_at,
            "replaces_earlier": self.replaces_earlier,
            "signature": b64encode(self.signature),
        }

    @classmethod
    def from_dict(cls, document: object) -> TriageCertificate:
        """Parse (not verify) a certificate; CorruptData on anything malformed."""
        if not isinstance(document, dict):
            raise CorruptData(DAMAGED)
        replaces = document.get("replaces_earlier")
        if not isinstance(replaces, bool):
            raise CorruptData(DAMAGED)
        certificate = cls(
            require_str(document, "reviewer"),
            b64decode(document.get("triage_key"), "triage_key"),
            require_str(document, "issued_at"),
            replaces,
            b64decode(document.get("signature"), "signature"),
        )
        if len(certificate.triage_key) != 32 or len(certificate.signature) != 64:
            raise CorruptData(DAMAGED)
        certificate.issued  # noqa: B018 - a time that does not parse is damage
        return certificate

    def to_text(self) -> str:
        """The certificate as one base64 word, as audit entries carry it."""
        return b64encode(canonical_json(self.to_dict()))

    @classmethod
    def from_text(cls, text: str) -> TriageCertificate:
        try:
            document = json.loads(base64.b64decode(text.encode("ascii"), validate=True))
        except (binascii.Error, UnicodeError, ValueError):
            raise CorruptData(DAMAGED) from None
        return cls.from_dict(document)


class TriageKey:
    """A triage signing key and its certificate; `repr` shows only whose it is."""

    __slots__ = ("_signing", "certificate")

    def __init__(self, seed: bytes, certificate: TriageCertificate) -> None:
        if len(seed) != 32:
            raise CorruptData(DAMAGED)
        self._signing = Ed25519PrivateKey.from_private_bytes(seed)
        if self._signing.public_key().public_bytes_raw() != certificate.triage_key:
            raise CorruptData(NOT_THIS_REVIEWERS)
        self.certificate = certificate

    def __repr__(self) -> str:
        return f"TriageKey(reviewer={self.certificate.reviewer!r})"

    def sign(self, data: bytes) -> bytes:
        return self._signing.sign(data)

    def _file_bytes(self) -> bytes:
        return json_bytes(
            {
                "kind": TRIAGE_KIND,
                "version": 1,
                "reviewer": self.certificate.reviewer,
                "private_key": b64encode(self._signing.private_bytes_raw()),
                "certificate": self.certificate.to_dict(),
            }
        )

    def save(self, path: Path) -> None:
        """Write the key to `path` (0600); FileExistsError if there is one already."""
        if not create_file_once(path, self._file_bytes(), PRIVATE_FILE_MODE):
            raise FileExistsError(f"{path} already exists; a key file is never overwritten")

    def replace(self, path: Path) -> None:
        """Atomically put this key in place of the one at `path` (attest keys new-triage-key)."""
        replace_file(path, self._file_bytes(), PRIVATE_FILE_MODE)

    @classmethod
    def load(cls, path: Path, owner: ReviewerPublicKey) -> TriageKey:
        """The triage key at `path`, checked against its owner's public key.

        KeyFileMissing when there is none; KeyFileExposed when group or others may read
        it (it has no passphrase: as ssh does with an open private key, it is not used);
        CorruptData when it is damaged, names another reviewer, or its certificate was
        not made by `owner`'s signing key.
        """
        document = read_json_file(path)
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            raise KeyFileExposed(path, EXPOSED)
        if document.get("kind") != TRIAGE_KIND or require_int(document, "version") != 1:
            raise CorruptData(DAMAGED)
        certificate = TriageCertificate.from_dict(document.get("certificate"))
        if owner.signing_key is None:
            raise CannotSign()
        if (
            document.get("reviewer") != owner.fingerprint
            or certificate.reviewer != owner.fingerprint
            or not certificate.verifies(owner.signing_key)
        ):
            raise CorruptData(NOT_THIS_REVIEWERS)
        return cls(b64decode(document.get("private_key"), "private_key"), certificate)


def issue_triage_key(
    main: ReviewerPrivateKey, *, replaces_earlier: bool = False, now: datetime | None = None
) -> TriageKey:
    """A new triage key certified by `main` (which must be able to sign)."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    issued = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    unsigned = TriageCertificate(main.fingerprint, public, issued, replaces_earlier, b"")
    return TriageKey(seed, unsigned.signed_by(main))
