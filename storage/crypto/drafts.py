"""Tier 1: drafts the node can read back, so a person can resume and review.

Each session has its own random data key. The data key is stored wrapped (AES-256-GCM)
under the node's master key; deleting the wrapped key shreds the draft. Every value is
AES-256-GCM with a fresh random 96-bit nonce, laid out as `nonce || ciphertext+tag`. The
caller passes AAD naming the row (and column) a value belongs to, so a blob copied to
another row fails to decrypt instead of showing one person's words in another's session.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import CorruptData, TamperedData

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

# A wrapped key and a value never share AAD even if a caller passes the same row name.
_WRAP_LABEL = b"attest-wrapped-key-v1\x00"
_VALUE_LABEL = b"attest-value-v1\x00"


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256-GCM keys are 32 bytes")


def new_data_key() -> bytes:
    """A fresh random 256-bit key for one session."""
    return os.urandom(KEY_BYTES)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    _check_key(key)
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise CorruptData("The encrypted value is truncated.")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except InvalidTag:
        raise TamperedData() from None


def wrap_key(master: bytes, data_key: bytes, aad: bytes) -> bytes:
    """`data_key` encrypted under `master`, bound to `aad` (the session's row)."""
    _check_key(data_key)
    return _seal(master, data_key, _WRAP_LABEL + aad)


def unwrap_key(master: bytes, wrapped: bytes, aad: bytes) -> bytes:
    """The data key inside `wrapped`; TamperedData if it was changed or moved."""
    data_key = _open(master, wrapped, _WRAP_LABEL + aad)
    if len(data_key) != KEY_BYTES:
        raise CorruptData("The wrapped key has the wrong length.")
    return data_key


def encrypt_value(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """`nonce || AES-256-GCM(plaintext)` bound to `aad`."""
    return _seal(key, plaintext, _VALUE_LABEL + aad)


def decrypt_value(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """The plaintext of `blob`; CorruptData if truncated, TamperedData if changed or moved."""
    return _open(key, blob, _VALUE_LABEL + aad)
