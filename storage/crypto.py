"""Attest's cryptography, in one place: the only home of the `cryptography` package.

Import from here; the code lives in `storage/crypto_*.py` (one noun each) because the
whole would be over 500 lines. See docs/contracts.md for the API and ARCHITECTURE.md for
the two tiers.

    node keys        crypto_node      NodeKeys: draft master key, pseudonym secret, Ed25519
    tier 1 drafts    crypto_drafts    data key per session wrapped by the master key; AAD per row
    files            crypto_files     chunked AES-256-GCM streams (STREAM construction)
    reviewer keys    crypto_reviewer  HPKE key pairs, private key wrapped via Argon2id
    tier 2 accounts  crypto_seal      HPKE to every reviewer, body once, Ed25519 signature

Errors (`storage.errors`): CryptoError and its subclasses WrongPassphrase, TamperedData,
UntrustedNode, NotARecipient, CorruptData, KeyFileMissing. None of their messages carries
key material, plaintext or a passphrase.
"""

from __future__ import annotations

from storage.crypto_drafts import (
    decrypt_value,
    encrypt_value,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from storage.crypto_files import CHUNK_SIZE, FileEncryptor, decrypt_file, encrypt_file
from storage.crypto_node import (
    NodeKeys,
    fingerprint_of,
    normalise_reference_code,
    verify_node_signature,
)
from storage.crypto_reviewer import (
    FAST_KDF,
    STRONG_KDF,
    SUITES,
    KdfParams,
    ReviewerPrivateKey,
    ReviewerPublicKey,
    Suite,
    generate_reviewer_key,
)
from storage.crypto_seal import (
    SealedAccount,
    open_account,
    open_content_key,
    seal_account,
    verify_account,
)
from storage.errors import (
    CorruptData,
    CryptoError,
    KeyFileMissing,
    NotARecipient,
    TamperedData,
    UntrustedNode,
    WrongPassphrase,
)

__all__ = [
    "CHUNK_SIZE",
    "FAST_KDF",
    "STRONG_KDF",
    "SUITES",
    "CorruptData",
    "CryptoError",
    "FileEncryptor",
    "KdfParams",
    "KeyFileMissing",
    "NodeKeys",
    "NotARecipient",
    "ReviewerPrivateKey",
    "ReviewerPublicKey",
    "SealedAccount",
    "Suite",
    "TamperedData",
    "UntrustedNode",
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
    "open_content_key",
    "seal_account",
    "unwrap_key",
    "verify_account",
    "verify_node_signature",
    "wrap_key",
]
