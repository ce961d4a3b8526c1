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

Errors (`storage.errors`): CryptoError and its subclasses WrongPassphrase, TamperedData,
UntrustedNode, NotARecipient, CorruptData, KeyFileMissing, NodeKeyLocked. None of their messages carries
key material, plaintext or a passphrase.
"""

from __future__ import annotations

from storage.crypto.drafts import (
    decrypt_value,
    encrypt_value,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from storage.crypto.files import CHUNK_SIZE, FileEncryptor, decrypt_file, encrypt_file
from storage.crypto.node import (
    FINGERPRINT_CHARS,
    NodeKeys,
    fingerprint_of,
    normalise_reference_code,
    verify_node_signature,
    withdrawal_hash,
)
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
    "UntrustedNode",
    "UntrustedReviewer",
    "WrongPassphrase",
    "decrypt_file",
    "decrypt_value",
    "encrypt_file",
    "encrypt_value",
    "fingerprint_of",
    "generate_reviewer_key",
    "new_data_key",
    "normalise_reference_code",
    "open_account",
    "open_body",
    "open_content_key",
    "reseal_account",
    "seal_account",
    "unwrap_key",
    "verify_account",
    "verify_node_signature",
    "verify_reseal",
    "withdrawal_hash",
    "wrap_key",
]
