"""Reviewer key pairs: HPKE keys (hybrid ML-KEM-768 + X25519, or X25519), passphrase-wrapped.

The suite belongs to the key. A public key file (`reviewer.pub`) is JSON a person can
read and pass around; the private key file (`reviewer.key`) holds the private key
encrypted with AES-256-GCM under a key derived from the passphrase with Argon2id. The KDF
parameters and salt are stored in the file; every field but the ciphertext is the AEAD's
associated data, so changing the public key or the parameters makes the file refuse to
open. After unwrapping, the private key must reproduce the stored public key.

    reviewer.pub  {"kind": "attest-reviewer-public-key", "version": 1, "suite": ...,
                   "public_key": b64, "fingerprint": hex, "demo": bool}
    reviewer.key  {"kind": "attest-reviewer-private-key", "version": 1, "suite": ...,
                   "public_key": b64, "fingerprint": hex, "demo": bool,
                   "kdf": {"name": "argon2id", "memory_cost": KiB, "iterations": n,
                           "lanes": n, "salt": b64},
                   "aead": "aes-256-gcm", "nonce": b64, "wrapped_private_key": b64}

Raw key layout: hybrid public = ML-KEM-768 public (1184 B) || X25519 public (32 B);
hybrid private = ML-KEM-768 seed (64 B) || X25519 private (32 B). The fingerprint is the
hex SHA-256 of the raw public key, first 32 characters, as for node keys.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from storage.crypto.digests import fingerprint_of
from storage.crypto.keyfiles import (
    PRIVATE_FILE_MODE,
    PUBLIC_FILE_MODE,
    b64decode,
    b64encode,
    canonical_json,
    create_file_once,
    json_bytes,
    read_json_file,
    replace_file,
    require_dict,
    require_int,
)
from storage.errors import N_, CorruptData, TamperedData, WrongPassphrase

Suite = Literal["hybrid", "x25519"]
SUITES: tuple[Suite, ...] = ("hybrid", "x25519")
PUBLIC_KIND = "attest-reviewer-public-key"
PUBLIC_HALF = N_(
    "This is the public half of a reviewer key (reviewer.pub). Set ATTEST_REVIEWER_KEY to "
    "the private key file, reviewer.key, made beside it."
)
PRIVATE_KIND = "attest-reviewer-private-key"

_HPKE_SUITES = {
    "hybrid": hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    "x25519": hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
}
_PUBLIC_BYTES = {"hybrid": 1184 + 32, "x25519": 32}
_PRIVATE_BYTES = {"hybrid": 64 + 32, "x25519": 32}
_SALT_BYTES = 16
_NONCE_BYTES = 12

HpkePublic = hpke.MLKEM768X25519PublicKey | x25519.X25519PublicKey
HpkePrivate = hpke.MLKEM768X25519PrivateKey | x25519.X25519PrivateKey


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


def _suite_name(value: object) -> Suite:
    if value not in SUITES:
        raise CorruptData("The key file names an unknown suite.")
    return value


def _hpke_public(suite: Suite, raw: bytes) -> HpkePublic:
    if suite == "hybrid":
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(raw[:1184]),
            x25519.X25519PublicKey.from_public_bytes(raw[1184:]),
        )
    return x25519.X25519PublicKey.from_public_bytes(raw)


def _raw_public_of(suite: Suite, private_raw: bytes) -> bytes:
    if suite == "hybrid":
        ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(private_raw[:64])
        xk = x25519.X25519PrivateKey.from_private_bytes(private_raw[64:])
        return ml.public_key().public_bytes_raw() + xk.public_key().public_bytes_raw()
    return x25519.X25519PrivateKey.from_private_bytes(private_raw).public_key().public_bytes_raw()


def _hpke_private(suite: Suite, raw: bytes) -> HpkePrivate:
    if suite == "hybrid":
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:64]),
            x25519.X25519PrivateKey.from_private_bytes(raw[64:]),
        )
    return x25519.X25519PrivateKey.from_private_bytes(raw)


@dataclass(frozen=True)
class ReviewerPublicKey:
    """A reviewer's public key: accounts are sealed to it. `demo` marks the first-run key."""

    suite: Suite
    public_bytes: bytes = field(repr=False)
    demo: bool = False

    def __post_init__(self) -> None:
        if len(self.public_bytes) != _PUBLIC_BYTES[self.suite]:
            raise CorruptData("The reviewer public key has the wrong length for its suite.")
        try:
            _hpke_public(self.suite, self.public_bytes)
        except ValueError:
            raise CorruptData("The reviewer public key is not a valid key.") from None

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_bytes)

    def seal_key(self, content_key: bytes, info: bytes) -> bytes:
        """HPKE base-mode encryption of `content_key` to this key: `enc || ciphertext`."""
        suite = _HPKE_SUITES[self.suite]
        return suite.encrypt(content_key, _hpke_public(self.suite, self.public_bytes), info=info)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": PUBLIC_KIND,
            "version": 1,
            "suite": self.suite,
            "public_key": b64encode(self.public_bytes),
            "fingerprint": self.fingerprint,
            "demo": self.demo,
        }

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> ReviewerPublicKey:
        """Parse and check a public key document (CorruptData on anything wrong)."""
        kind = document.get("kind")
        if kind == PRIVATE_KIND:
            raise CorruptData(
                "This is a private reviewer key (reviewer.key). Give the public key "
                "(reviewer.pub) instead, and keep the private key off this machine."
            )
        if kind != PUBLIC_KIND or require_int(document, "version") != 1:
            raise CorruptData("This is not an Attest reviewer public key (version 1).")
        key = cls(
            suite=_suite_name(document.get("suite")),
            public_bytes=b64decode(document.get("public_key"), "public_key"),
            demo=document.get("demo") is True,
        )
        if document.get("fingerprint") != key.fingerprint:
            raise CorruptData("The public key file's fingerprint does not match its key.")
        return key

    def save(self, path: Path) -> None:
        replace_file(path, json_bytes(self.to_dict()), PUBLIC_FILE_MODE)

    @classmethod
    def load(cls, path: Path) -> ReviewerPublicKey:
        return cls.from_dict(read_json_file(path))


def _derive(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
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


class ReviewerPrivateKey:
    """A reviewer's private key, unwrapped in memory; `repr` shows only the fingerprint."""

    __slots__ = ("_private_raw", "public")

    def __init__(self, public: ReviewerPublicKey, private_raw: bytes) -> None:
        if len(private_raw) != _PRIVATE_BYTES[public.suite]:
            raise CorruptData("The private key has the wrong length for its suite.")
        if _raw_public_of(public.suite, private_raw) != public.public_bytes:
            raise CorruptData("The private key does not match its public key.")
        self.public = public
        self._private_raw = private_raw

    def __repr__(self) -> str:
        return f"ReviewerPrivateKey(suite={self.public.suite!r}, fingerprint={self.public.fingerprint!r})"

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def open_key(self, sealed_key: bytes, info: bytes) -> bytes:
        """The content key inside an HPKE `enc || ciphertext`; TamperedData if it fails."""
        suite = _HPKE_SUITES[self.public.suite]
        try:
            return suite.decrypt(
                sealed_key, _hpke_private(self.public.suite, self._private_raw), info=info
            )
        except (InvalidTag, ValueError):
            raise TamperedData() from None

    def save(self, path: Path, passphrase: str, kdf_params: KdfParams = STRONG_KDF) -> None:
        """Write the passphrase-wrapped key to `path` (mode 0600); never overwrites a file."""
        kdf_params.check()
        salt = os.urandom(_SALT_BYTES)
        nonce = os.urandom(_NONCE_BYTES)
        header = {
            **self.public.to_dict(),
            "kind": PRIVATE_KIND,
            "kdf": {
                "name": "argon2id",
                "memory_cost": kdf_params.memory_cost,
                "iterations": kdf_params.iterations,
                "lanes": kdf_params.lanes,
                "salt": b64encode(salt),
            },
            "aead": "aes-256-gcm",
        }
        wrapping_key = _derive(passphrase, salt, kdf_params)
        wrapped = AESGCM(wrapping_key).encrypt(nonce, self._private_raw, canonical_json(header))
        document = {**header, "nonce": b64encode(nonce), "wrapped_private_key": b64encode(wrapped)}
        if not create_file_once(path, json_bytes(document), PRIVATE_FILE_MODE):
            raise FileExistsError(f"{path} already exists; a key file is never overwritten")

    @classmethod
    def load(cls, path: Path, passphrase: str) -> ReviewerPrivateKey:
        """Unwrap the key in `path`; WrongPassphrase, CorruptData or KeyFileMissing."""
        document = read_json_file(path)
        if document.get("kind") == PUBLIC_KIND:
            raise CorruptData(PUBLIC_HALF)
        if document.get("kind") != PRIVATE_KIND or require_int(document, "version") != 1:
            raise CorruptData("This is not an Attest reviewer private key (version 1).")
        header = {k: v for k, v in document.items() if k not in ("nonce", "wrapped_private_key")}
        public = ReviewerPublicKey.from_dict({**header, "kind": PUBLIC_KIND})
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
        wrapped = b64decode(document.get("wrapped_private_key"), "wrapped_private_key")
        if len(salt) < 8 or len(nonce) != _NONCE_BYTES:
            raise CorruptData("The key file's salt or nonce has the wrong length.")
        wrapping_key = _derive(passphrase, salt, params)
        try:
            private_raw = AESGCM(wrapping_key).decrypt(nonce, wrapped, canonical_json(header))
        except InvalidTag:
            raise WrongPassphrase() from None
        return cls(public, private_raw)


def generate_reviewer_key(suite: str = "hybrid", *, demo: bool = False) -> ReviewerPrivateKey:
    """A new random reviewer key pair of `suite` ("hybrid" or "x25519")."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; use one of {', '.join(SUITES)}")
    name = suite
    if name == "hybrid":
        private_raw = mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
    else:
        private_raw = b""
    private_raw += x25519.X25519PrivateKey.generate().private_bytes_raw()
    public = ReviewerPublicKey(
        suite=name, public_bytes=_raw_public_of(name, private_raw), demo=demo
    )
    return ReviewerPrivateKey(public, private_raw)
