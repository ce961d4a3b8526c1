"""Reseals: an account's content key wrapped for a reviewer key it was not sealed to.

A reviewer who can open an account (`attest review reseal --to FILE`) wraps its content
key with HPKE to a new reviewer key, with the same `info` the node used (account id and
the new key's fingerprint), and signs the result with their own Ed25519 key:

    b"attest-reseal-v1\\n" || canonical_json({account_id, recipient, wrapped (base64),
        resealer})

The node's signature over the original recipients is untouched and still verifies; a
reseal lives beside the account, never inside it. Opening through a reseal requires the
resealer to be a reviewer this reader pinned (`attest keys trust-reviewer FILE`) and the
signature to hold; the content key must then also decrypt the node-signed body, so a
reseal can never make an account say something else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from storage.crypto.keyfiles import b64encode, canonical_json
from storage.crypto.reviewer import ReviewerPrivateKey, ReviewerPublicKey
from storage.errors import TamperedData, UntrustedReviewer

_RESEAL_LABEL = b"attest-reseal-v1\n"


@dataclass(frozen=True)
class Reseal:
    """One content key wrapped for `recipient` by `resealer` (both reviewer fingerprints)."""

    account_id: str
    recipient: str
    wrapped: bytes = field(repr=False)
    resealer: str
    signature: bytes = field(repr=False)

    def signed_bytes(self) -> bytes:
        return reseal_signed_bytes(self.account_id, self.recipient, self.wrapped, self.resealer)


def reseal_signed_bytes(account_id: str, recipient: str, wrapped: bytes, resealer: str) -> bytes:
    payload = {
        "account_id": account_id,
        "recipient": recipient,
        "wrapped": b64encode(wrapped),
        "resealer": resealer,
    }
    return _RESEAL_LABEL + canonical_json(payload)


def make_reseal(
    account_id: str,
    content_key: bytes,
    new_key: ReviewerPublicKey,
    resealer: ReviewerPrivateKey,
    info: bytes,
) -> Reseal:
    """Wrap `content_key` for `new_key` and sign it as `resealer` (CannotSign for a v1 key)."""
    wrapped = new_key.seal_key(content_key, info)
    signed = reseal_signed_bytes(account_id, new_key.fingerprint, wrapped, resealer.fingerprint)
    return Reseal(
        account_id, new_key.fingerprint, wrapped, resealer.fingerprint, resealer.sign(signed)
    )


def verify_reseal(reseal: Reseal, trusted_reviewers: Mapping[str, ReviewerPublicKey]) -> None:
    """UntrustedReviewer unless a pinned reviewer signed exactly this reseal; TamperedData if not."""
    resealer = trusted_reviewers.get(reseal.resealer)
    if resealer is None or resealer.signing_key is None:
        raise UntrustedReviewer()
    if not resealer.verify(reseal.signature, reseal.signed_bytes()):
        raise TamperedData()
