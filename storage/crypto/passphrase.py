"""Passphrase wrapping: Argon2id derives an AES-256-GCM key that wraps a secret in a key file.

Used by reviewer private keys and by a protected node key. The KDF parameters and salt
are stored in the file; every field but the nonce and the ciphertext is the AEAD's
associated data, so a changed header makes the file refuse to open rather than open with
weaker parameters. A wrong passphrase and a changed ciphertext look the same: WrongPassphrase.

    {..., "kdf": {"name": "argon2id", "memory_cost": KiB, "iterations": n, "lanes": n,
                  "salt": b64},
     "aead": "aes-256-gcm", "nonce": b64, "<secret field>": b64}
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from storage.crypto.keyfiles import b64decode, b64encode, canonical_json, require_dict, require_int
from storage.errors import CorruptData, WrongPassphrase

_SALT_BYTES = 16
_NONCE_BYTES = 12


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost: memory in KiB, passes, lanes. The default costs ~0.1 s and 64 MiB."""

    memory_cost: int = 64 * 1024
    iterations: int = 3
    lanes: int = 4

    def check(self) -> None:
        """CorruptData when the parameters are impossible or absurd (a file could ask 1 TiB)."""
        if not 1 <= self.lanes <= 64 or not 1 <= self.iterations <= 64:
            raise CorruptData("The key file's KDF parameters are out of range.")
        if not 8 * self.lanes <= self.memory_cost <= 4 * 1024 * 1024:
            raise CorruptData("The key file's KDF parameters are out of range.")


STRONG_KDF = KdfParams()
# Cheap parameters: for tests, and for the demo key whose passphrase is public anyway.
FAST_KDF = KdfParams(memory_cost=64, iterations=1, lanes=1)


def derive_wrapping_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The 32-byte AES key Argon2id derives from `passphrase` (NFC-normalised) and `salt`."""
    # NFC so that the same passphrase typed on different systems gives the same bytes.
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    kdf = Argon2id(
        salt=salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_cost,
    )
    return kdf.derive(secret)


def wrap_with_passphrase(
    header: Mapping[str, Any], secret: bytes, passphrase: str, params: KdfParams, field: str
) -> dict[str, Any]:
    """`header` plus the KDF fields, a nonce and `secret` encrypted under `field`."""
    params.check()
    salt = os.urandom(_SALT_BYTES)
    nonce = os.urandom(_NONCE_BYTES)
    full_header = {
        **header,
        "kdf": {
            "name": "argon2id",
            "memory_cost": params.memory_cost,
            "iterations": params.iterations,
            "lanes": params.lanes,
            "salt": b64encode(salt),
        },
        "aead": "aes-256-gcm",
    }
    wrapping_key = derive_wrapping_key(passphrase, salt, params)
    wrapped = AESGCM(wrapping_key).encrypt(nonce, secret, canonical_json(full_header))
    return {**full_header, "nonce": b64encode(nonce), field: b64encode(wrapped)}


def unwrap_with_passphrase(document: Mapping[str, Any], passphrase: str, field: str) -> bytes:
    """The secret under `field`; WrongPassphrase when it does not open, CorruptData if malformed."""
    header = {k: v for k, v in document.items() if k not in ("nonce", field)}
    kdf = require_dict(document, "kdf")
    if kdf.get("name") != "argon2id" or document.get("aead") != "aes-256-gcm":
        raise CorruptData("The key file uses an unknown KDF or cipher.")
    params = KdfParams(
        memory_cost=require_int(kdf, "memory_cost"),
        iterations=require_int(kdf, "iterations"),
        lanes=require_int(kdf, "lanes"),
    )
    params.check()
    salt = b64decode(kdf.get("salt"), "kdf.salt")
    nonce = b64decode(document.get("nonce"), "nonce")
    wrapped = b64decode(document.get(field), field)
    if len(salt) < 8 or len(nonce) != _NONCE_BYTES:
        raise CorruptData("The key file's salt or nonce has the wrong length.")
    wrapping_key = derive_wrapping_key(passphrase, salt, params)
    try:
        return AESGCM(wrapping_key).decrypt(nonce, wrapped, canonical_json(header))
    except InvalidTag:
        raise WrongPassphrase() from None
