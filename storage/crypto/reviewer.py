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

Version 2 (every new key; `attest keys upgrade` turns a version 1 pair into one) adds an
Ed25519 signing key and a display name: the public file carries "signing_key" (b64 raw
Ed25519 public key) and "name"; the private file wraps the HPKE private key followed by
the 32-byte Ed25519 seed. Reviewers sign audit entries and reseals with it. The
fingerprint stays the HPKE key's, so accounts sealed before an upgrade still name it.

Raw key layout: hybrid public = ML-KEM-768 public (1184 B) || X25519 public (32 B);
hybrid private = ML-KEM-768 seed (64 B) || X25519 private (32 B). The fingerprint is the
hex SHA-256 of the raw public key, first 32 characters, as for node keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from storage.crypto.digests import fingerprint_of
from storage.crypto.keyfiles import (
    PRIVATE_FILE_MODE,
    PUBLIC_FILE_MODE,
    b64decode,
    b64encode,
    create_file_once,
    json_bytes,
    read_json_file,
    replace_file,
    require_int,
)
from storage.crypto.passphrase import (
    STRONG_KDF,
    KdfParams,
    unwrap_with_passphrase,
    wrap_with_passphrase,
)
from storage.errors import N_, CannotSign, CorruptData, TamperedData

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
MAX_NAME_CHARS = 200
_PUBLIC_BYTES = {"hybrid": 1184 + 32, "x25519": 32}
_PRIVATE_BYTES = {"hybrid": 64 + 32, "x25519": 32}

HpkePublic = hpke.MLKEM768X25519PublicKey | x25519.X25519PublicKey
HpkePrivate = hpke.MLKEM768X25519PrivateKey | x25519.X25519PrivateKey


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
    signing_key: bytes | None = field(default=None, repr=False)  # raw Ed25519; version 2
    name: str = ""

    def __post_init__(self) -> None:
        if len(self.public_bytes) != _PUBLIC_BYTES[self.suite]:
            raise CorruptData("The reviewer public key has the wrong length for its suite.")
        try:
            _hpke_public(self.suite, self.public_bytes)
            if self.signing_key is not None:
                Ed25519PublicKey.from_public_bytes(self.signing_key)
        except ValueError:
            raise CorruptData("The reviewer public key is not a valid key.") from None
        if len(self.name) > MAX_NAME_CHARS:
            raise CorruptData("The reviewer key's name is too long.")

    @property
    def version(self) -> int:
        return 1 if self.signing_key is None else 2

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether `signature` is this reviewer's Ed25519 signature of `data` (False for v1)."""
        if self.signing_key is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.signing_key).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public_bytes)

    def seal_key(self, content_key: bytes, info: bytes) -> bytes:
        """HPKE base-mode encryption of `content_key` to this key: `enc || ciphertext`."""
        suite = _HPKE_SUITES[self.suite]
        return suite.encrypt(content_key, _hpke_public(self.suite, self.public_bytes), info=info)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "kind": PUBLIC_KIND,
            "version": self.version,
            "suite": self.suite,
            "public_key": b64encode(self.public_bytes),
            "fingerprint": self.fingerprint,
            "demo": self.demo,
        }
        if self.signing_key is not None:
            document["signing_key"] = b64encode(self.signing_key)
            document["name"] = self.name
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> ReviewerPublicKey:
        """Parse and check a public key document (CorruptData on anything wrong)."""
        kind = document.get("kind")
        if kind == PRIVATE_KIND:
            raise CorruptData(
                "This is a private reviewer key (reviewer.key). Give the public key "
                "(reviewer.pub) instead, and keep the private key off this machine."
            )
        if kind != PUBLIC_KIND or require_int(document, "version") not in (1, 2):
            raise CorruptData("This is not an Attest reviewer public key (version 1 or 2).")
        signing_key = None
        name = ""
        if document["version"] == 2:
            signing_key = b64decode(document.get("signing_key"), "signing_key")
            if len(signing_key) != 32:
                raise CorruptData("The reviewer public key is not a valid key.")
            name_value = document.get("name", "")
            if not isinstance(name_value, str):
                raise CorruptData("The field 'name' is missing or not text.")
            name = name_value
        key = cls(
            suite=_suite_name(document.get("suite")),
            public_bytes=b64decode(document.get("public_key"), "public_key"),
            demo=document.get("demo") is True,
            signing_key=signing_key,
            name=name,
        )
        if document.get("fingerprint") != key.fingerprint:
            raise CorruptData("The public key file's fingerprint does not match its key.")
        return key

    def save(self, path: Path) -> None:
        replace_file(path, json_bytes(self.to_dict()), PUBLIC_FILE_MODE)

    @classmethod
    def load(cls, path: Path) -> ReviewerPublicKey:
        return cls.from_dict(read_json_file(path))


class ReviewerPrivateKey:
    """A reviewer's private key, unwrapped in memory; `repr` shows only the fingerprint."""

    __slots__ = ("_private_raw", "_signing", "public")

    def __init__(
        self, public: ReviewerPublicKey, private_raw: bytes, signing_seed: bytes | None = None
    ) -> None:
        if len(private_raw) != _PRIVATE_BYTES[public.suite]:
            raise CorruptData("The private key has the wrong length for its suite.")
        if _raw_public_of(public.suite, private_raw) != public.public_bytes:
            raise CorruptData("The private key does not match its public key.")
        self._signing: Ed25519PrivateKey | None = None
        if (signing_seed is None) != (public.signing_key is None):
            raise CorruptData("The private key does not match its public key.")
        if signing_seed is not None:
            if len(signing_seed) != 32:
                raise CorruptData("The private key has the wrong length for its suite.")
            self._signing = Ed25519PrivateKey.from_private_bytes(signing_seed)
            if self._signing.public_key().public_bytes_raw() != public.signing_key:
                raise CorruptData("The private key does not match its public key.")
        self.public = public
        self._private_raw = private_raw

    @property
    def can_sign(self) -> bool:
        return self._signing is not None

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of `data`; CannotSign for a version 1 key."""
        if self._signing is None:
            raise CannotSign()
        return self._signing.sign(data)

    def upgraded(self, name: str) -> ReviewerPrivateKey:
        """This key as version 2: the same HPKE key, a new signing key, and `name`."""
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        signing = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        public = ReviewerPublicKey(
            self.public.suite, self.public.public_bytes, self.public.demo, signing, name.strip()
        )
        return ReviewerPrivateKey(public, self._private_raw, seed)

    def _secret(self) -> bytes:
        if self._signing is None:
            return self._private_raw
        return self._private_raw + self._signing.private_bytes_raw()

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
        if not create_file_once(path, self._file_bytes(passphrase, kdf_params), PRIVATE_FILE_MODE):
            raise FileExistsError(f"{path} already exists; a key file is never overwritten")

    def replace(self, path: Path, passphrase: str, kdf_params: KdfParams = STRONG_KDF) -> None:
        """Atomically replace `path` with this key (for `attest keys upgrade`)."""
        replace_file(path, self._file_bytes(passphrase, kdf_params), PRIVATE_FILE_MODE)

    def _file_bytes(self, passphrase: str, kdf_params: KdfParams) -> bytes:
        header = {**self.public.to_dict(), "kind": PRIVATE_KIND}
        document = wrap_with_passphrase(
            header, self._secret(), passphrase, kdf_params, "wrapped_private_key"
        )
        return json_bytes(document)

    @classmethod
    def load(cls, path: Path, passphrase: str) -> ReviewerPrivateKey:
        """Unwrap the key in `path`; WrongPassphrase, CorruptData or KeyFileMissing."""
        document = read_json_file(path)
        if document.get("kind") == PUBLIC_KIND:
            raise CorruptData(PUBLIC_HALF)
        if document.get("kind") != PRIVATE_KIND or require_int(document, "version") not in (1, 2):
            raise CorruptData("This is not an Attest reviewer private key (version 1 or 2).")
        header = {k: v for k, v in document.items() if k not in ("nonce", "wrapped_private_key")}
        public = ReviewerPublicKey.from_dict({**header, "kind": PUBLIC_KIND})
        secret = unwrap_with_passphrase(document, passphrase, "wrapped_private_key")
        if public.signing_key is None:
            return cls(public, secret)
        return cls(public, secret[:-32], secret[-32:])


def generate_reviewer_key(
    suite: str = "hybrid", *, demo: bool = False, name: str = ""
) -> ReviewerPrivateKey:
    """A new random reviewer key pair of `suite` ("hybrid" or "x25519"), version 2."""
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; use one of {', '.join(SUITES)}")
    suite_name: Suite = _suite_name(suite)
    if suite_name == "hybrid":
        private_raw = mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
    else:
        private_raw = b""
    private_raw += x25519.X25519PrivateKey.generate().private_bytes_raw()
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    signing = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    public = ReviewerPublicKey(
        suite=suite_name,
        public_bytes=_raw_public_of(suite_name, private_raw),
        demo=demo,
        signing_key=signing,
        name=name.strip(),
    )
    return ReviewerPrivateKey(public, private_raw, seed)
