"""Hashes that need no key and no `cryptography`: fingerprints, withdrawal hashes.

Split from `node.py` so that reading the queue (which compares fingerprints and hashes
withdrawal secrets) does not load the `cryptography` package (issue 16: start-up time).
"""

from __future__ import annotations

import hashlib
import unicodedata

FINGERPRINT_CHARS = 32
WITHDRAWAL_HASH_LABEL = b"attest-withdrawal-hash-v1\x00"


def fingerprint_of(public_key: bytes) -> str:
    """Hex SHA-256 of a raw public key, first 32 characters (128 bits)."""
    return hashlib.sha256(public_key).hexdigest()[:FINGERPRINT_CHARS]


def normalise_reference_code(code: str) -> str:
    """The form of a reference code that is hashed: NFKC, upper case, letters and digits only.

    People copy codes with spaces, dashes or in lower case; all of those must match.
    """
    folded = unicodedata.normalize("NFKC", code).upper()
    return "".join(ch for ch in folded if ch.isalnum())


def withdrawal_hash(secret: str) -> str:
    """The one-way hash of a withdrawal secret: what an account carries and the queue keeps.

    Anyone who reads the queue sees only this; withdrawing needs the secret itself, which
    only the node can derive, and only from the person's reference code.
    """
    return hashlib.sha256(WITHDRAWAL_HASH_LABEL + secret.encode("utf-8")).hexdigest()
