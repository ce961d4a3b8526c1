"""Attest's cryptography, in one place: the only home of the `cryptography` package.

Import from here; the code lives in this package's modules (one noun each) because the
whole would be over 500 lines. See docs/contracts.md for the API and ARCHITECTURE.md for
the two tiers.

    node keys        node.py          NodeKeys: draft master key, pseudonym secret, Ed25519
    tier 1 drafts    drafts.py        data key per session wrapped by the master key; AAD per row
    files            files.py         chunked AES-256-GCM streams (STREAM construction)
    reviewer keys    reviewer.py      HPKE key pairs, private key wrapped via Argon2id
    passphrases      passphrase.py    Argon2id + AES-256-GCM wrapping of a key file's secret
    notes            notes.py         reviewer notes sealed to exactly an account's recipients
    key files        keyfiles.py      0600 files written atomically, private folders
    tier 2 accounts  seal.py          HPKE to every reviewer, body once, Ed25519 signature
    reseals          reseal.py        a content key wrapped for a new reviewer key, signed
    digests          digests.py       fingerprints and withdrawal hashes (hashlib only)
    triage keys      triage.py        a reviewer's passphrase-less key for claims, tags, status

Errors (`storage.errors`): CryptoError and its subclasses WrongPassphrase, TamperedData,
UntrustedNode, NotARecipient, CorruptData, KeyFileMissing, NodeKeyLocked. None of their messages carries
key material, plaintext or a passphrase.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from storage.errors import (
    CannotSign,
    CorruptData,
    CryptoError,
    KeyFileMissing,
    NodeKeyLocked,
    NotARecipient,
    TamperedData,
    UntrustedNode,
    UntrustedReviewer,
    WrongPassphrase,
)

if TYPE_CHECKING:
    from storage.crypto.digests import (
        FINGERPRINT_CHARS,
        fingerprint_of,
        normalise_reference_code,
        withdrawal_hash,
    )
    from storage.crypto.drafts import (
        decrypt_value,
        encrypt_value,
        new_data_key,
        unwrap_key,
        wrap_key,
    )
    from storage.crypto.files import CHUNK_SIZE, FileEncryptor, decrypt_file, encrypt_file
    from storage.crypto.node import NodeKeys, verify_node_signature
    from storage.crypto.passphrase import FAST_KDF, STRONG_KDF, KdfParams
    from storage.crypto.reseal import Reseal, verify_reseal
    from storage.crypto.reviewer import (
        SUITES,
        ReviewerPrivateKey,
        ReviewerPublicKey,
        Suite,
        generate_reviewer_key,
    )
    from storage.crypto.seal import (
        SealedAccount,
        open_account,
        open_body,
        open_content_key,
        reseal_account,
        seal_account,
        verify_account,
    )
    from storage.crypto.triage import (
        TriageCertificate,
        TriageKey,
        issue_triage_key,
        triage_key_path,
    )

# Each name is imported from its module on first use (PEP 562), so that a command which
# only lists the queue never loads `cryptography` (issue 16: start-up time). The names
# and what they are stay exactly as above.
_LAZY = {
    "CHUNK_SIZE": "storage.crypto.files",
    "FAST_KDF": "storage.crypto.passphrase",
    "FINGERPRINT_CHARS": "storage.crypto.digests",
    "FileEncryptor": "storage.crypto.files",
    "KdfParams": "storage.crypto.passphrase",
    "NodeKeys": "storage.crypto.node",
    "ReviewerPrivateKey": "storage.crypto.reviewer",
    "ReviewerPublicKey": "storage.crypto.reviewer",
    "Reseal": "storage.crypto.reseal",
    "STRONG_KDF": "storage.crypto.passphrase",
    "SUITES": "storage.crypto.reviewer",
    "SealedAccount": "storage.crypto.seal",
    "Suite": "storage.crypto.reviewer",
    "TriageCertificate": "storage.crypto.triage",
    "TriageKey": "storage.crypto.triage",
    "decrypt_file": "storage.crypto.files",
    "decrypt_value": "storage.crypto.drafts",
    "encrypt_file": "storage.crypto.files",
    "encrypt_value": "storage.crypto.drafts",
    "fingerprint_of": "storage.crypto.digests",
    "generate_reviewer_key": "storage.crypto.reviewer",
    "issue_triage_key": "storage.crypto.triage",
    "new_data_key": "storage.crypto.drafts",
    "normalise_reference_code": "storage.crypto.digests",
    "open_account": "storage.crypto.seal",
    "open_body": "storage.crypto.seal",
    "open_content_key": "storage.crypto.seal",
    "reseal_account": "storage.crypto.seal",
    "triage_key_path": "storage.crypto.triage",
    "seal_account": "storage.crypto.seal",
    "unwrap_key": "storage.crypto.drafts",
    "verify_account": "storage.crypto.seal",
    "verify_node_signature": "storage.crypto.node",
    "verify_reseal": "storage.crypto.reseal",
    "withdrawal_hash": "storage.crypto.digests",
    "wrap_key": "storage.crypto.drafts",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "CHUNK_SIZE",
    "FAST_KDF",
    "FINGERPRINT_CHARS",
    "STRONG_KDF",
    "SUITES",
    "CannotSign",
    "CorruptData",
    "CryptoError",
    "FileEncryptor",
    "KdfParams",
    "KeyFileMissing",
    "NodeKeyLocked",
    "NodeKeys",
    "NotARecipient",
    "Reseal",
    "ReviewerPrivateKey",
    "ReviewerPublicKey",
    "SealedAccount",
    "Suite",
    "TamperedData",
    "TriageCertificate",
    "TriageKey",
    "UntrustedNode",
    "UntrustedReviewer",
    "WrongPassphrase",
    "decrypt_file",
    "decrypt_value",
    "encrypt_file",
    "encrypt_value",
    "fingerprint_of",
    "generate_reviewer_key",
    "issue_triage_key",
    "new_data_key",
    "normalise_reference_code",
    "open_account",
    "open_body",
    "open_content_key",
    "reseal_account",
    "seal_account",
    "triage_key_path",
    "unwrap_key",
    "verify_account",
    "verify_node_signature",
    "verify_reseal",
    "withdrawal_hash",
    "wrap_key",
]
