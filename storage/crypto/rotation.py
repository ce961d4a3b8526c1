"""Node signing-key rotation: the old key signs the new one, so reviewers' pins carry over.

`attest keys rotate-node` replaces only the Ed25519 signing key; the master key and the
pseudonym secret stay (drafts and pseudonyms do not change). The old key signs:

    b"attest-node-rotation-v1\\n" || canonical_json({old_key, new_key, rotated_at})

(keys base64). The node key file keeps every certificate of its chain, sync copies them
to the queue (`node_rotations`), and a reviewer who pinned the old key pins the new one
when its certificate verifies under a key they trust (`storage.queue.node_pins`). A key
that was untrusted is never followed: whoever stole it could certify a key of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage.crypto.digests import fingerprint_of
from storage.crypto.keyfiles import b64decode, b64encode, canonical_json, require_str
from storage.crypto.node import verify_node_signature
from storage.errors import CorruptData

_ROTATION_LABEL = b"attest-node-rotation-v1\n"


@dataclass(frozen=True)
class Rotation:
    """The certificate that `old_key` handed signing over to `new_key` (raw Ed25519 keys)."""

    old_key: bytes = field(repr=False)
    new_key: bytes = field(repr=False)
    rotated_at: str
    signature: bytes = field(repr=False)

    @property
    def old_fingerprint(self) -> str:
        return fingerprint_of(self.old_key)

    @property
    def new_fingerprint(self) -> str:
        return fingerprint_of(self.new_key)

    def signed_bytes(self) -> bytes:
        return rotation_signed_bytes(self.old_key, self.new_key, self.rotated_at)

    def verifies(self) -> bool:
        """Whether the old key really signed this hand-over."""
        return verify_node_signature(self.old_key, self.signature, self.signed_bytes())

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_key": b64encode(self.old_key),
            "new_key": b64encode(self.new_key),
            "rotated_at": self.rotated_at,
            "signature": b64encode(self.signature),
        }

    @classmethod
    def from_dict(cls, document: Any) -> Rotation:
        if not isinstance(document, dict):
            raise CorruptData("A node key rotation record is damaged.")
        rotation = cls(
            b64decode(document.get("old_key"), "old_key"),
            b64decode(document.get("new_key"), "new_key"),
            require_str(document, "rotated_at"),
            b64decode(document.get("signature"), "signature"),
        )
        if len(rotation.old_key) != 32 or len(rotation.new_key) != 32:
            raise CorruptData("A node key rotation record is damaged.")
        return rotation


def rotation_signed_bytes(old_key: bytes, new_key: bytes, rotated_at: str) -> bytes:
    payload = {
        "old_key": b64encode(old_key),
        "new_key": b64encode(new_key),
        "rotated_at": rotated_at,
    }
    return _ROTATION_LABEL + canonical_json(payload)
