"""Audit entries signed with a reviewer's triage key: which, how they are written, when good.

A triage key (`storage.crypto.triage`) signs only claims, releases, tag and status
changes, the entries whose commands need no passphrase. Such an entry's `signature`
column carries the certificate with the signature:

    triage:<certificate, base64 canonical JSON>:<Ed25519 signature by the triage key, base64>

(base64 has no ':', and a main-key signature is bare base64, so the two never mix). The
signature is over the same bytes as a main-key signature (`audit.signed_bytes`).
`audit verify` accepts one only if all of these hold:

    1. the entry is a triage entry: "claimed" with no detail, "released" with no detail
       or only the status change it made (in review back to new), or "changed" with
       nothing but status and tag changes (a note needs the main key);
    2. the certificate names the reviewer the entry names, and verifies against that
       reviewer's pinned main signing key;
    3. the entry's signature verifies with the certified triage key;
    4. no certificate of that reviewer with `replaces_earlier` (attest keys
       new-triage-key), issued after this one, appeared earlier in the chain: either
       carried by a triage entry, or in a `triage-key-replaced` entry, which
       `new-triage-key` writes at once, signed with the main key, with the new
       certificate as its detail ({"certificate": <text>}).

Parsing needs no `cryptography`; checking loads it (only `audit verify` and opening
accounts check signatures, never a listing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.crypto.keyfiles import b64decode
from storage.errors import N_, CorruptData

if TYPE_CHECKING:
    from storage.crypto.triage import TriageCertificate

PREFIX = "triage:"
REPLACED_ACTION = "triage-key-replaced"  # signed with the main key, never a triage key
_NO_DETAIL_ACTIONS = frozenset({"claimed"})
_CHANGE_FIELDS = frozenset({"status", "tags_added", "tags_removed"})

NOT_A_TRIAGE_ENTRY = N_(
    "This entry is signed with a triage key, which may sign only claims, releases, tags "
    "and status changes: it was forged or changed."
)
DAMAGED_CERTIFICATE = N_(
    "This entry's triage key certificate is damaged: it was forged or changed."
)
ANOTHER_REVIEWERS = N_(
    "This entry's triage key certificate belongs to another reviewer than the one it names: "
    "it was forged."
)
FORGED_CERTIFICATE = N_(
    "This entry's triage key certificate was not made by this reviewer's key: it was forged."
)
REPLACED = N_(
    "This entry is signed with a triage key its reviewer has replaced since (attest keys "
    "new-triage-key). If they did not write it, the old triage key was stolen."
)
NO_MATCH = N_("This entry's signature does not match it: it was forged or changed.")


def is_triage_entry(action: str, detail: Mapping[str, Any]) -> bool:
    """Whether a triage key may sign this entry (claims, releases, tags and status only)."""
    if action in _NO_DETAIL_ACTIONS:
        return not detail
    if action == "released":
        return set(detail) <= {"status"}
    if action == "changed":
        return bool(detail) and set(detail) <= _CHANGE_FIELDS
    return False


def is_triage_signature(text: str | None) -> bool:
    return text is not None and text.startswith(PREFIX)


def signature_text(certificate: str, signature_b64: str) -> str:
    """The column value for an entry signed with a triage key carrying `certificate`."""
    return f"{PREFIX}{certificate}:{signature_b64}"


@dataclass
class Replacements:
    """What a walk of the chain has learnt so far: each reviewer's newest replacing certificate.

    Entries before a replacement was seen stay good (they were written before anyone
    knew the old key was stolen); entries after it must carry a certificate issued no
    earlier than the replacing one.
    """

    since: dict[str, datetime] = field(default_factory=dict)

    def note(self, certificate: TriageCertificate) -> None:
        if certificate.replaces_earlier:
            issued = certificate.issued
            known = self.since.get(certificate.reviewer)
            if known is None or issued > known:
                self.since[certificate.reviewer] = issued

    def replaced(self, certificate: TriageCertificate) -> bool:
        since = self.since.get(certificate.reviewer)
        return since is not None and certificate.issued < since


def replacement_problem(
    row: Any, fingerprint: str, main_signing_key: bytes, replacements: Replacements | None
) -> str | None:
    """Why a `triage-key-replaced` entry (its main-key signature already good) is wrong, or None.

    Its certificate must name its reviewer, be made by their main key and replace earlier
    ones; then `replacements` learns it, so the old keys are refused from here on.
    """
    from storage.crypto.triage import TriageCertificate

    try:
        detail = row.detail if isinstance(row.detail, dict) else _json_object(row.detail)
        certificate = TriageCertificate.from_text(str(detail.get("certificate")))
    except (ValueError, CorruptData):
        return DAMAGED_CERTIFICATE
    if certificate.reviewer != fingerprint:
        return ANOTHER_REVIEWERS
    if not certificate.replaces_earlier or not certificate.verifies(main_signing_key):
        return FORGED_CERTIFICATE
    if replacements is not None:
        replacements.note(certificate)
    return None


def certificate_text(signature: str) -> str | None:
    """The certificate part of a triage signature column, unparsed; None if malformed."""
    parts = signature[len(PREFIX) :].split(":")
    return parts[0] if len(parts) == 2 else None


def triage_problem(
    row: Any,
    fingerprint: str,
    main_signing_key: bytes,
    signed: bytes,
    replacements: Replacements | None,
) -> str | None:
    """Why this triage-signed entry by reviewer `fingerprint` is not good enough, or None.

    `main_signing_key` is the reviewer's pinned key, `signed` the bytes the entry's
    signature must cover. `replacements` (kept across one walk of the chain) learns each
    good certificate that replaces earlier ones; None checks no replacements.
    """
    from storage.crypto.node import verify_node_signature
    from storage.crypto.triage import TriageCertificate

    try:
        detail = row.detail if isinstance(row.detail, dict) else _json_object(row.detail)
    except ValueError:
        return NOT_A_TRIAGE_ENTRY
    if not is_triage_entry(str(row.action), detail):
        return NOT_A_TRIAGE_ENTRY
    parts = str(row.signature)[len(PREFIX) :].split(":")
    if len(parts) != 2:
        return DAMAGED_CERTIFICATE
    try:
        certificate = TriageCertificate.from_text(parts[0])
        signature = b64decode(parts[1], "signature")
    except CorruptData:
        return DAMAGED_CERTIFICATE
    if certificate.reviewer != fingerprint:
        return ANOTHER_REVIEWERS
    if not certificate.verifies(main_signing_key):
        return FORGED_CERTIFICATE
    if replacements is not None:
        if replacements.replaced(certificate):
            return REPLACED
        # Genuine (the main key made it), so learnt even if this entry fails below.
        replacements.note(certificate)
    if not verify_node_signature(certificate.triage_key, signature, signed):
        return NO_MATCH
    return None


def _json_object(text: object) -> dict[str, Any]:
    import json

    value = json.loads(str(text))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value
