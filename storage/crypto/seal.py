"""Tier 2: accounts sealed to the reviewers, signed by the node.

One random content key per account. The body (canonical JSON) is encrypted once with
AES-256-GCM under it; the AAD binds the account id and the SHA-256 of the metadata, so a
body cannot be moved under other metadata. The content key is sealed with HPKE (RFC 9180,
base mode) to every reviewer key, each in its own suite; the HPKE `info` binds the account
id and the reviewer's fingerprint. The node signs, with Ed25519:

    b"attest-sealed-account-v1\\n" || canonical_json({account_id, metadata, recipients
        (fingerprint -> base64 of enc || wrapped key), body_sha256, node_fingerprint})

`open_account` checks the signature against the pinned node keys before touching any
ciphertext: an unknown node is UntrustedNode, a bad signature TamperedData. Only then
does it unwrap the content key (NotARecipient if the reviewer is not among the
recipients, nor given a reseal: `storage.crypto.reseal`) and decrypt the body. The node keeps nothing that can open an account.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.crypto.keyfiles import b64decode, b64encode, canonical_json
from storage.crypto.node import NodeKeys, verify_node_signature
from storage.crypto.reseal import Reseal, make_reseal, verify_reseal
from storage.crypto.reviewer import ReviewerPrivateKey, ReviewerPublicKey
from storage.errors import CorruptData, NotARecipient, TamperedData, UntrustedNode

_SIGNATURE_LABEL = b"attest-sealed-account-v1\n"
_BODY_LABEL = b"attest-account-body-v1\n"
_KEY_LABEL = b"attest-account-key-v1\n"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HEX32 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class SealedAccount:
    """A finished account as the node stores and syncs it: readable only by reviewers."""

    account_id: str
    metadata: dict[str, Any]
    recipients: dict[str, bytes] = field(repr=False)
    body: bytes = field(repr=False)
    node_fingerprint: str
    signature: bytes = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (bytes as base64) for storage rows and sync."""
        return {
            "version": 1,
            "account_id": self.account_id,
            "metadata": self.metadata,
            "recipients": {fp: b64encode(blob) for fp, blob in sorted(self.recipients.items())},
            "body": b64encode(self.body),
            "node_fingerprint": self.node_fingerprint,
            "signature": b64encode(self.signature),
        }

    @classmethod
    def from_dict(cls, document: object) -> SealedAccount:
        """Parse a stored dict; CorruptData (naming the field, never its value) if damaged."""
        if not isinstance(document, Mapping):
            raise CorruptData("The sealed account record is not an object.")
        if document.get("version") != 1:
            raise CorruptData("The sealed account record has an unknown version.")
        account_id = document.get("account_id")
        node_fingerprint = document.get("node_fingerprint")
        metadata = document.get("metadata")
        recipients = document.get("recipients")
        if not isinstance(account_id, str) or not _HEX32.fullmatch(account_id):
            raise CorruptData("The field 'account_id' of the sealed account is damaged.")
        if not isinstance(node_fingerprint, str) or not _HEX32.fullmatch(node_fingerprint):
            raise CorruptData("The field 'node_fingerprint' of the sealed account is damaged.")
        if not isinstance(metadata, dict):
            raise CorruptData("The field 'metadata' of the sealed account is damaged.")
        try:
            canonical_json(metadata)
        except (TypeError, ValueError, RecursionError):
            raise CorruptData("The field 'metadata' of the sealed account is damaged.") from None
        if not isinstance(recipients, dict) or not recipients:
            raise CorruptData("The field 'recipients' of the sealed account is damaged.")
        wrapped: dict[str, bytes] = {}
        for fingerprint, blob in recipients.items():
            if not isinstance(fingerprint, str) or not _HEX32.fullmatch(fingerprint):
                raise CorruptData("The field 'recipients' of the sealed account is damaged.")
            wrapped[fingerprint] = b64decode(blob, "recipients")
        body = b64decode(document.get("body"), "body")
        signature = b64decode(document.get("signature"), "signature")
        if len(body) < _NONCE_BYTES + _TAG_BYTES:
            raise CorruptData("The field 'body' of the sealed account is truncated.")
        if len(signature) != 64:
            raise CorruptData("The field 'signature' of the sealed account is damaged.")
        return cls(account_id, metadata, wrapped, body, node_fingerprint, signature)


def _signed_bytes(
    account_id: str,
    metadata: Mapping[str, Any],
    recipients: Mapping[str, bytes],
    body: bytes,
    node_fingerprint: str,
) -> bytes:
    try:
        payload = canonical_json(
            {
                "account_id": account_id,
                "metadata": metadata,
                "recipients": {fp: b64encode(blob) for fp, blob in recipients.items()},
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "node_fingerprint": node_fingerprint,
            }
        )
    except (TypeError, ValueError, RecursionError):
        raise CorruptData("The sealed account's metadata cannot be encoded.") from None
    return _SIGNATURE_LABEL + payload


def _body_aad(account_id: str, metadata: Mapping[str, Any]) -> bytes:
    digest = hashlib.sha256(canonical_json(metadata)).hexdigest()
    return _BODY_LABEL + canonical_json({"account_id": account_id, "metadata_sha256": digest})


def _key_info(account_id: str, fingerprint: str) -> bytes:
    return _KEY_LABEL + account_id.encode("ascii") + b"\n" + fingerprint.encode("ascii")


def seal_account(
    body: Mapping[str, Any],
    metadata: Mapping[str, Any],
    reviewers: Sequence[ReviewerPublicKey],
    node: NodeKeys,
) -> SealedAccount:
    """Seal `body` to every reviewer in `reviewers` and sign it (with `metadata`) as `node`.

    `body` and `metadata` must be JSON-able (str keys; no NaN). Raises ValueError when
    there is no reviewer to seal to: an account nobody can open must never be made.
    """
    if not reviewers:
        raise ValueError("no reviewer key to seal the account to")
    account_id = uuid.uuid4().hex
    # A JSON round trip gives exactly what from_dict will read back (tuples become lists).
    plain_metadata: dict[str, Any] = json.loads(canonical_json(metadata))
    content_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_NONCE_BYTES)
    sealed_body = nonce + AESGCM(content_key).encrypt(
        nonce, canonical_json(body), _body_aad(account_id, plain_metadata)
    )
    recipients = {
        key.fingerprint: key.seal_key(content_key, _key_info(account_id, key.fingerprint))
        for key in reviewers
    }
    signature = node.sign(
        _signed_bytes(account_id, plain_metadata, recipients, sealed_body, node.fingerprint)
    )
    return SealedAccount(
        account_id, plain_metadata, recipients, sealed_body, node.fingerprint, signature
    )


def verify_account(sealed: SealedAccount, trusted_nodes: Mapping[str, bytes]) -> None:
    """Check the node signature; UntrustedNode or TamperedData if it does not hold.

    `trusted_nodes` maps pinned node fingerprints to their raw Ed25519 public keys. The
    queue may call this on receipt; `open_account` always does, first.
    """
    public_key = trusted_nodes.get(sealed.node_fingerprint)
    if public_key is None:
        raise UntrustedNode()
    signed = _signed_bytes(
        sealed.account_id, sealed.metadata, sealed.recipients, sealed.body, sealed.node_fingerprint
    )
    if not verify_node_signature(public_key, sealed.signature, signed):
        raise TamperedData()


def open_content_key(
    sealed: SealedAccount,
    key: ReviewerPrivateKey,
    trusted_nodes: Mapping[str, bytes],
    reseals: Sequence[Reseal] = (),
    trusted_reviewers: Mapping[str, ReviewerPublicKey] | None = None,
) -> bytes:
    """The account's content key, after checking the node signature (for keys derived from it).

    A key the node did not seal to opens it only through a reseal for it, signed by a
    reviewer in `trusted_reviewers` (see `storage.crypto.reseal`).
    """
    verify_account(sealed, trusted_nodes)
    wrapped = sealed.recipients.get(key.fingerprint)
    if wrapped is None:
        mine = [
            r
            for r in reseals
            if r.recipient == key.fingerprint and r.account_id == sealed.account_id
        ]
        if not mine:
            raise NotARecipient()
        verify_reseal(mine[0], trusted_reviewers or {})
        wrapped = mine[0].wrapped
    content_key = key.open_key(wrapped, _key_info(sealed.account_id, key.fingerprint))
    if len(content_key) != 32:
        raise TamperedData()
    return content_key


def reseal_account(
    sealed: SealedAccount,
    content_key: bytes,
    new_key: ReviewerPublicKey,
    resealer: ReviewerPrivateKey,
) -> Reseal:
    """The content key of `sealed` wrapped for `new_key`, signed by `resealer`.

    The content key is checked first: it must decrypt the body, so nobody reseals a key
    that does not open the account.
    """
    open_body(sealed, content_key)
    return make_reseal(
        sealed.account_id,
        content_key,
        new_key,
        resealer,
        _key_info(sealed.account_id, new_key.fingerprint),
    )


def open_account(
    sealed: SealedAccount,
    key: ReviewerPrivateKey,
    trusted_nodes: Mapping[str, bytes],
    reseals: Sequence[Reseal] = (),
    trusted_reviewers: Mapping[str, ReviewerPublicKey] | None = None,
) -> dict[str, Any]:
    """The account body, after checking the node signature, then unwrapping, then decrypting."""
    content_key = open_content_key(sealed, key, trusted_nodes, reseals, trusted_reviewers)
    return open_body(sealed, content_key)


def open_body(sealed: SealedAccount, content_key: bytes) -> dict[str, Any]:
    """Decrypt the body with a content key already obtained (TamperedData if it does not fit)."""
    nonce, ciphertext = sealed.body[:_NONCE_BYTES], sealed.body[_NONCE_BYTES:]
    try:
        plaintext = AESGCM(content_key).decrypt(
            nonce, ciphertext, _body_aad(sealed.account_id, sealed.metadata)
        )
    except (InvalidTag, ValueError):
        raise TamperedData() from None
    try:
        body = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CorruptData("The account body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise CorruptData("The account body is not a JSON object.")
    return body
