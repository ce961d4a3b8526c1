"""Reference codes: random, unambiguous, easy to copy by hand (e.g. `K7QM-4TXA-9P`).

The engine has no randomness of its own; the caller passes fresh entropy in each
`Inbound`, and the code is derived from it. Never derive a code from a phone or a name.
"""

from __future__ import annotations

import hashlib
import re

# No 0/O, 1/I/L, U, B/8, S/5: letters people misread or mistype.
ALPHABET = "ACDEFGHJKMNPQRTVWXYZ234679"
LENGTH = 10
MIN_ENTROPY = 16  # bytes


def reference_code(entropy: bytes) -> str:
    """A 10-character code grouped 4-4-2, derived from at least 16 bytes of entropy."""
    if len(entropy) < MIN_ENTROPY:
        raise ValueError(f"a reference code needs at least {MIN_ENTROPY} bytes of entropy")
    # Hashing spreads any entropy source evenly; 256 bits make the modulo bias negligible.
    number = int.from_bytes(hashlib.sha256(entropy).digest(), "big")
    chars: list[str] = []
    for _ in range(LENGTH):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    code = "".join(chars)
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def normalise_code(text: str) -> str | None:
    """The canonical form of a typed code (any case, spaces or dashes), or None."""
    compact = re.sub(r"[\s\-–—_.]", "", text).upper()
    if len(compact) != LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"
