"""Reference codes: random, unambiguous, easy to copy by hand (e.g. `K7QM-4TXA-9XP`).

The engine has no randomness of its own; the caller passes fresh entropy in each
`Inbound`, and the code is derived from it. Never derive a code from a phone or a name.

The eleventh character is a check character, so a slip in typing a code is caught before
anything is recorded: a person who withdraws an account must never be told it is done
when the code they typed names nothing. With the characters' places in ALPHABET as
values v₁…v₁₁, a code is well formed when Σ i·vᵢ ≡ 0 (mod 29). 29 is a prime above the
alphabet's 26 letters and the weights 1…11 are distinct: changing one character changes
the sum by (weight × difference of values), swapping two by (difference of weights ×
difference of values), and 29 divides neither factor, so every such slip is caught. A check value of 26–28 has no character, so those
draws are made again (about one in ten; it costs a sixth of a bit of the code's entropy).

Codes issued before the check character have 10 characters (4-4-2). They are still read,
as "old-code": nothing in them can be checked, so the node looks them up instead.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from flows.bidi import without_invisible

# No 0/O, 1/I/L, U, B/8, S/5: letters people misread or mistype.
ALPHABET = "ACDEFGHJKMNPQRTVWXYZ234679"
LENGTH = 11
OLD_LENGTH = 10  # codes issued before the check character
MIN_ENTROPY = 16  # bytes
_MODULUS = 29
_SEPARATORS = re.compile(r"[\s\-–—_.‐‑‒−]")

ReadingKind = Literal["code", "old-code", "mistyped", "none"]


@dataclass(frozen=True)
class CodeReading:
    """What a typed text is as a reference code.

    kind:
      code      a current code whose check character matches; `code` is its canonical form
      old-code  10 characters from the alphabet, as issued before check characters
      mistyped  shaped like a code, but its check character (or a look-alike letter no
                code has) shows a slip
      none      not a code at all
    """

    kind: ReadingKind
    code: str | None = None

    def __repr__(self) -> str:
        # A code withdraws an account: never in a repr that could reach a log.
        return f"CodeReading(kind={self.kind!r})"


def _check_sum(chars: str) -> int:
    return sum(weight * ALPHABET.index(c) for weight, c in enumerate(chars, start=1)) % _MODULUS


def _grouped(chars: str) -> str:
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def reference_code(entropy: bytes) -> str:
    """An 11-character code grouped 4-4-3, the last a check character.

    Derived from at least 16 bytes of entropy, and always the same for the same entropy.
    """
    if len(entropy) < MIN_ENTROPY:
        raise ValueError(f"a reference code needs at least {MIN_ENTROPY} bytes of entropy")
    weight = LENGTH % _MODULUS
    inverse = pow(weight, -1, _MODULUS)
    for attempt in itertools.count():
        # Hashing spreads any entropy source evenly; 256 bits make the modulo bias negligible.
        seed = entropy if attempt == 0 else entropy + attempt.to_bytes(4, "big")
        number = int.from_bytes(hashlib.sha256(seed).digest(), "big")
        chars: list[str] = []
        for _ in range(LENGTH - 1):
            number, index = divmod(number, len(ALPHABET))
            chars.append(ALPHABET[index])
        check = (-_check_sum("".join(chars)) * inverse) % _MODULUS
        if check < len(ALPHABET):
            return _grouped("".join(chars) + ALPHABET[check])
    raise AssertionError("unreachable")  # pragma: no cover


def _compact(text: str) -> str:
    """Upper case without separators or invisible marks; any script's digits as 0–9.

    A code copied out of a Persian or Arabic message comes wrapped in direction isolates;
    a Persian keyboard types ۶ for 6.
    """
    folded = unicodedata.normalize("NFKC", without_invisible(text))
    folded = "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in folded
    )
    return _SEPARATORS.sub("", folded).upper()


def read_code(text: str) -> CodeReading:
    """What `text` is as a reference code: a code, an old code, a slip, or none."""
    compact = _compact(text)
    if len(compact) not in (LENGTH, OLD_LENGTH) or not (compact.isascii() and compact.isalnum()):
        return CodeReading("none")
    if any(c not in ALPHABET for c in compact):
        return CodeReading("mistyped")
    if len(compact) == OLD_LENGTH:
        return CodeReading("old-code", _grouped(compact))
    if _check_sum(compact) != 0:
        return CodeReading("mistyped")
    return CodeReading("code", _grouped(compact))
