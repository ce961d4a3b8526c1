"""The node's own keys: draft master key, pseudonym secret, Ed25519 signing key.

They live in one JSON file (`node.key`, mode 0600) that every bot process of a deployment
shares. The first process to start creates it; a second process racing it ends with the
same keys, because the file is created with create-then-link (see `storage.crypto.keyfiles`).

File format (version 1), every value base64:

    {"kind": "attest-node-key", "version": 1,
     "master_key": ..., "pseudonym_secret": ..., "signing_key": ...}
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

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
    require_int,
)
from storage.errors import CorruptData

NODE_KEY_KIND = "attest-node-key"
KEY_BYTES = 32

# Domain labels keep the two HMAC uses of one secret apart.
_PSEUDONYM_LABEL = b"attest-pseudonym-v1\x00"
_WITHDRAWAL_LABEL = b"attest-withdrawal-v1\x00"
WITHDRAWAL_SECRET_CHARS = 64


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
    )

    def __init__(self, master_key: bytes, pseudonym_secret: bytes, signing_seed: bytes) -> None:
        if len(master_key) != KEY_BYTES or len(pseudonym_secret) != KEY_BYTES:
            raise CorruptData("The node key file is damaged (a key has the wrong length).")
        if len(signing_seed) != KEY_BYTES:
            raise CorruptData("The node key file is damaged (a key has the wrong length).")
        self.master_key = master_key
        self.pseudonym_secret = pseudonym_secret
        self._signing_key = Ed25519PrivateKey.from_private_bytes(signing_seed)
        self.public_key_bytes = self._signing_key.public_key().public_bytes_raw()
        self.fingerprint = fingerprint_of(self.public_key_bytes)

    def __repr__(self) -> str:
        return f"NodeKeys(fingerprint={self.fingerprint!r})"

    @classmethod
    def generate(cls) -> NodeKeys:
        return cls(os.urandom(KEY_BYTES), os.urandom(KEY_BYTES), os.urandom(KEY_BYTES))

    @classmethod
    def load(cls, path: Path) -> NodeKeys:
        """Read `path`; KeyFileMissing or CorruptData when it is absent or damaged."""
        document = read_json_file(path)
        if document.get("kind") != NODE_KEY_KIND or require_int(document, "version") != 1:
            raise CorruptData(f"The file {str(path)!r} is not an Attest node key (version 1).")
        return cls(
            b64decode(document.get("master_key"), "master_key"),
            b64decode(document.get("pseudonym_secret"), "pseudonym_secret"),
            b64decode(document.get("signing_key"), "signing_key"),
        )

    @classmethod
    def load_or_create(cls, path: Path) -> NodeKeys:
        """The keys in `path`, creating the file (atomically, mode 0600) on first use."""
        if not path.exists():
            candidate = cls.generate()
            # If another process created the file first, its keys win: read them back.
            create_file_once(path, json_bytes(candidate._to_document()), PRIVATE_FILE_MODE)
        return cls.load(path)

    def _to_document(self) -> dict[str, object]:
        return {
            "kind": NODE_KEY_KIND,
            "version": 1,
            "master_key": b64encode(self.master_key),
            "pseudonym_secret": b64encode(self.pseudonym_secret),
            "signing_key": b64encode(self._signing_key.private_bytes_raw()),
        }

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

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature of `data` by this node."""
        return self._signing_key.sign(data)
