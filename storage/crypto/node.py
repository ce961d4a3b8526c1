"""The node's own keys: draft master key, pseudonym secret, Ed25519 signing key.

They live in one JSON file (`node.key`, mode 0600) that every bot process of a deployment
shares. The first process to start creates it; a second process racing it ends with the
same keys, because the file is created with create-then-link (see `storage.crypto.keyfiles`).

File format, every value base64. Version 1 holds the keys unwrapped:

    {"kind": "attest-node-key", "version": 1,
     "master_key": ..., "pseudonym_secret": ..., "signing_key": ...}

Version 2 (`attest keys protect-node`) wraps the same 96 bytes (master key || pseudonym
secret || signing seed) with a passphrase, as reviewer private keys are
(`storage.crypto.passphrase`); the public signing key and its fingerprint stay readable
and are bound to the ciphertext as associated data:

    {"kind": "attest-node-key", "version": 2, "public_key": ..., "fingerprint": hex,
     "kdf": {...}, "aead": "aes-256-gcm", "nonce": ..., "wrapped_keys": ...}

Without the passphrase a copy of a version 2 file gives up nothing: not the drafts, not
the pseudonyms (HMAC of a chat id under the pseudonym secret, reversible by trying every
Telegram id when the secret is known), not the signing key.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from storage.crypto.digests import (
    fingerprint_of,
    normalise_reference_code,
)
from storage.crypto.keyfiles import (
    PRIVATE_FILE_MODE,
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
from storage.errors import CorruptData, NodeKeyLocked

NODE_KEY_KIND = "attest-node-key"
KEY_BYTES = 32

# Domain labels keep the HMAC uses of one secret apart.
_PSEUDONYM_LABEL = b"attest-pseudonym-v1\x00"
_WITHDRAWAL_LABEL = b"attest-withdrawal-v1\x00"
_SENT_CODE_LABEL = b"attest-sent-code-v1\x00"
WITHDRAWAL_SECRET_CHARS = 64


def _rotations_of(document: dict[str, Any]) -> tuple[Any, ...]:
    """The rotation certificates in a node key file, each checked to chain to the next."""
    from storage.crypto.rotation import Rotation

    raw = document.get("rotations", [])
    if not isinstance(raw, list):
        raise CorruptData("The node key file's rotation records are damaged.")
    rotations = tuple(Rotation.from_dict(item) for item in raw)
    for earlier, later in itertools.pairwise(rotations):
        if earlier.new_key != later.old_key:
            raise CorruptData("The node key file's rotation records are damaged.")
    if not all(r.verifies() for r in rotations):
        raise CorruptData("The node key file's rotation records are damaged.")
    return rotations


def verify_node_signature(public_key: bytes, signature: bytes, data: bytes) -> bool:
    """Whether `signature` is a valid Ed25519 signature of `data` by `public_key`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


class NodeKeys:
    """A node's secret keys; `repr` shows only the public fingerprint."""

    __slots__ = (
        "_signing_key",
        "fingerprint",
        "master_key",
        "pseudonym_secret",
        "public_key_bytes",
        "rotations",
    )

    def __init__(
        self,
        master_key: bytes,
        pseudonym_secret: bytes,
        signing_seed: bytes,
        rotations: tuple[Any, ...] = (),
    ) -> None:
        if len(master_key) != KEY_BYTES or len(pseudonym_secret) != KEY_BYTES:
            raise CorruptData("The node key file is damaged (a key has the wrong length).")
        if len(signing_seed) != KEY_BYTES:
            raise CorruptData("The node key file is damaged (a key has the wrong length).")
        self.master_key = master_key
        self.pseudonym_secret = pseudonym_secret
        self._signing_key = Ed25519PrivateKey.from_private_bytes(signing_seed)
        self.public_key_bytes = self._signing_key.public_key().public_bytes_raw()
        self.fingerprint = fingerprint_of(self.public_key_bytes)
        # storage.crypto.rotation.Rotation certificates, oldest first (imported lazily:
        # rotation.py builds on this module).
        self.rotations = rotations
        if rotations and rotations[-1].new_key != self.public_key_bytes:
            raise CorruptData("The node key file's rotation records are damaged.")

    def __repr__(self) -> str:
        return f"NodeKeys(fingerprint={self.fingerprint!r})"

    @classmethod
    def generate(cls) -> NodeKeys:
        return cls(os.urandom(KEY_BYTES), os.urandom(KEY_BYTES), os.urandom(KEY_BYTES))

    @classmethod
    def load(cls, path: Path, passphrase: str | None = None) -> NodeKeys:
        """Read `path`; KeyFileMissing or CorruptData when it is absent or damaged.

        A protected file (version 2) needs `passphrase`: NodeKeyLocked without one,
        WrongPassphrase when it does not open. An unprotected file ignores it.
        """
        document = read_json_file(path)
        version = require_int(document, "version") if document.get("kind") == NODE_KEY_KIND else 0
        rotations = _rotations_of(document)
        if version == 1:
            return cls(
                b64decode(document.get("master_key"), "master_key"),
                b64decode(document.get("pseudonym_secret"), "pseudonym_secret"),
                b64decode(document.get("signing_key"), "signing_key"),
                rotations,
            )
        if version != 2:
            raise CorruptData(f"The file {str(path)!r} is not an Attest node key (version 1 or 2).")
        if passphrase is None:
            raise NodeKeyLocked()
        raw = unwrap_with_passphrase(document, passphrase, "wrapped_keys")
        if len(raw) != 3 * KEY_BYTES:
            raise CorruptData(f"The node key file {str(path)!r} is damaged.")
        keys = cls(raw[:KEY_BYTES], raw[KEY_BYTES : 2 * KEY_BYTES], raw[2 * KEY_BYTES :], rotations)
        if b64decode(document.get("public_key"), "public_key") != keys.public_key_bytes:
            raise CorruptData(f"The node key file {str(path)!r} is damaged.")
        return keys

    @staticmethod
    def is_protected(path: Path) -> bool:
        """Whether `path` holds a passphrase-protected (version 2) node key."""
        document = read_json_file(path)
        return document.get("kind") == NODE_KEY_KIND and document.get("version") == 2

    @classmethod
    def load_or_create(cls, path: Path, passphrase: str | None = None) -> NodeKeys:
        """The keys in `path`, creating the file (atomically, mode 0600) on first use.

        A new file is protected with `passphrase` when one is given.
        """
        if not path.exists():
            candidate = cls.generate()
            document = (
                candidate._to_document()
                if passphrase is None
                else candidate._to_protected_document(passphrase, STRONG_KDF)
            )
            # If another process created the file first, its keys win: read them back.
            create_file_once(path, json_bytes(document), PRIVATE_FILE_MODE)
        return cls.load(path, passphrase)

    def protect(self, path: Path, passphrase: str, kdf_params: KdfParams = STRONG_KDF) -> None:
        """Replace `path` with these keys wrapped by `passphrase` (version 2), atomically.

        The caller loaded the keys from `path`; the new file is read back with the
        passphrase before this returns, so a failure leaves a file that opens.
        """
        replace_file(
            path, json_bytes(self._to_protected_document(passphrase, kdf_params)), PRIVATE_FILE_MODE
        )
        if NodeKeys.load(path, passphrase).fingerprint != self.fingerprint:
            raise CorruptData(f"The node key file {str(path)!r} did not read back the same.")

    def rotated(self, rotated_at: str) -> NodeKeys:
        """These keys with a new signing key, certified by the current one."""
        from storage.crypto.rotation import Rotation, rotation_signed_bytes

        new_seed = os.urandom(KEY_BYTES)
        new_public = Ed25519PrivateKey.from_private_bytes(new_seed).public_key().public_bytes_raw()
        signature = self.sign(rotation_signed_bytes(self.public_key_bytes, new_public, rotated_at))
        certificate = Rotation(self.public_key_bytes, new_public, rotated_at, signature)
        return NodeKeys(
            self.master_key, self.pseudonym_secret, new_seed, (*self.rotations, certificate)
        )

    def public_keys(self) -> dict[str, bytes]:
        """Every signing key of this node's chain, current and retired: fingerprint -> key.

        Accounts sealed before a rotation still wait in the outbox under an old key.
        """
        found = {fingerprint_of(r.old_key): r.old_key for r in self.rotations}
        found[self.fingerprint] = self.public_key_bytes
        return found

    def save_replacing(self, path: Path, passphrase: str | None) -> None:
        """Write these keys over `path` (protected when `passphrase`), read back and checked."""
        document = (
            self._to_document()
            if passphrase is None
            else self._to_protected_document(passphrase, STRONG_KDF)
        )
        replace_file(path, json_bytes(document), PRIVATE_FILE_MODE)
        if NodeKeys.load(path, passphrase).fingerprint != self.fingerprint:
            raise CorruptData(f"The node key file {str(path)!r} did not read back the same.")

    def _rotation_documents(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.rotations]

    def _to_protected_document(self, passphrase: str, kdf_params: KdfParams) -> dict[str, object]:
        header: dict[str, Any] = {
            "kind": NODE_KEY_KIND,
            "version": 2,
            "public_key": b64encode(self.public_key_bytes),
            "fingerprint": self.fingerprint,
        }
        if self.rotations:
            header["rotations"] = self._rotation_documents()
        secret = self.master_key + self.pseudonym_secret + self._signing_key.private_bytes_raw()
        return wrap_with_passphrase(header, secret, passphrase, kdf_params, "wrapped_keys")

    def _to_document(self) -> dict[str, object]:
        document: dict[str, object] = {
            "kind": NODE_KEY_KIND,
            "version": 1,
            "master_key": b64encode(self.master_key),
            "pseudonym_secret": b64encode(self.pseudonym_secret),
            "signing_key": b64encode(self._signing_key.private_bytes_raw()),
        }
        if self.rotations:
            document["rotations"] = self._rotation_documents()
        return document

    def pseudonym(self, channel: str, chat_id: str | int) -> str:
        """Hex HMAC-SHA256 naming a respondent without keeping their chat id."""
        message = _PSEUDONYM_LABEL + channel.encode("utf-8") + b"\x00" + str(chat_id).encode()
        return hmac.digest(self.pseudonym_secret, message, "sha256").hex()

    def withdrawal_secret(self, reference_code: str) -> str:
        """Hex HMAC-SHA256 of a normalised reference code: what a withdrawal request carries.

        The same derivation as the clear withdrawal tags before queue revision 0003, so an
        account that arrived then (its tag hashed in place) is withdrawn by the same code.
        Accounts carry only `withdrawal_hash` of it.
        """
        code = normalise_reference_code(reference_code).encode("utf-8")
        return hmac.new(self.pseudonym_secret, _WITHDRAWAL_LABEL + code, hashlib.sha256).hexdigest()

    def sent_code_digest(self, reference_code: str) -> str:
        """Hex HMAC-SHA256 of a normalised reference code, under its own label.

        What the node keeps of each account it sent, to tell a mistyped withdrawal code
        from its own. Not `withdrawal_hash` of the secret, so a copy of the intake store
        cannot be joined with the queue's hashes without this node's key.
        """
        code = normalise_reference_code(reference_code).encode("utf-8")
        return hmac.new(self.pseudonym_secret, _SENT_CODE_LABEL + code, hashlib.sha256).hexdigest()

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of `data` by this node."""
        return self._signing_key.sign(data)
