"""Sealed accounts: open only for their reviewers, only if signed by a pinned node, never if changed."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.crypto import (
    NodeKeys,
    ReviewerPrivateKey,
    SealedAccount,
    generate_reviewer_key,
    open_account,
    seal_account,
    verify_account,
)
from storage.crypto.seal import _signed_bytes
from storage.errors import CorruptData, CryptoError, NotARecipient, TamperedData, UntrustedNode

CANARY = "Ŝkóła-zamknięta-🔒-7731"
BODY: dict[str, Any] = {
    "answers": [{"step": "what_happened", "value": CANARY, "sha256": "ab" * 32}],
    "consent": {"version": "c0ffee", "language": "en", "scopes": ["documentation"]},
}
METADATA: dict[str, Any] = {
    "flow": "survivor",
    "language": "en",
    "channel": "console",
    "urgent": False,
    "scopes": ["documentation", "anonymised-reports"],
    "submitted_at": "2026-11-23T18:00:00+00:00",
    "withdrawal_hash": "f" * 64,
}


@pytest.fixture(scope="module")
def node() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="module")
def reviewers() -> list[ReviewerPrivateKey]:
    return [
        generate_reviewer_key("hybrid"),
        generate_reviewer_key("x25519"),
        generate_reviewer_key("hybrid"),
    ]


@pytest.fixture()
def trusted(node: NodeKeys) -> dict[str, bytes]:
    return {node.fingerprint: node.public_key_bytes}


@pytest.fixture()
def sealed(node: NodeKeys, reviewers: list[ReviewerPrivateKey]) -> SealedAccount:
    return seal_account(BODY, METADATA, [r.public for r in reviewers], node)


def assert_no_content(error: BaseException) -> None:
    text = str(error)
    assert CANARY not in text
    assert "what_happened" not in text


@pytest.mark.parametrize("suite", ["hybrid", "x25519"])
def test_single_reviewer_round_trip_for_each_suite(
    suite: str, node: NodeKeys, trusted: dict[str, bytes]
) -> None:
    reviewer = generate_reviewer_key(suite)
    sealed = seal_account(BODY, METADATA, [reviewer.public], node)
    assert open_account(sealed, reviewer, trusted) == BODY


def test_every_reviewer_of_mixed_suites_opens_the_same_body(
    sealed: SealedAccount, reviewers: list[ReviewerPrivateKey], trusted: dict[str, bytes]
) -> None:
    assert set(sealed.recipients) == {r.fingerprint for r in reviewers}
    for reviewer in reviewers:
        assert open_account(sealed, reviewer, trusted) == BODY


def test_the_sealed_account_shows_metadata_but_not_the_body(sealed: SealedAccount) -> None:
    stored = json.dumps(sealed.to_dict())
    assert sealed.metadata == METADATA
    assert CANARY not in stored
    assert CANARY.encode("utf-8") not in base64.b64decode(sealed.to_dict()["body"])
    assert len(sealed.account_id) == 32


def test_a_key_it_was_not_sealed_to_is_not_a_recipient(
    sealed: SealedAccount, trusted: dict[str, bytes]
) -> None:
    with pytest.raises(NotARecipient) as caught:
        open_account(sealed, generate_reviewer_key("hybrid"), trusted)
    assert_no_content(caught.value)


def test_sealing_to_nobody_is_refused(node: NodeKeys) -> None:
    with pytest.raises(ValueError):
        seal_account(BODY, METADATA, [], node)


def test_duplicate_reviewers_are_sealed_to_once(
    node: NodeKeys, reviewers: list[ReviewerPrivateKey]
) -> None:
    sealed = seal_account(BODY, METADATA, [reviewers[0].public, reviewers[0].public], node)
    assert list(sealed.recipients) == [reviewers[0].fingerprint]


def _flip(blob: bytes, index: int = -1) -> bytes:
    changed = bytearray(blob)
    changed[index] ^= 0x01
    return bytes(changed)


TAMPERS: dict[str, Callable[[SealedAccount], SealedAccount]] = {
    "account id": lambda s: replace(s, account_id="0" * 32),
    "metadata value": lambda s: replace(s, metadata={**s.metadata, "urgent": True}),
    "metadata scopes": lambda s: replace(s, metadata={**s.metadata, "scopes": ["named-sharing"]}),
    "metadata key added": lambda s: replace(s, metadata={**s.metadata, "extra": 1}),
    "body last byte": lambda s: replace(s, body=_flip(s.body)),
    "body nonce": lambda s: replace(s, body=_flip(s.body, 0)),
    "body truncated": lambda s: replace(s, body=s.body[:-5]),
    "signature": lambda s: replace(s, signature=_flip(s.signature)),
    "recipient dropped": lambda s: replace(s, recipients=dict(list(s.recipients.items())[1:])),
}


@pytest.mark.parametrize("part", list(TAMPERS))
def test_each_tampered_part_is_refused_for_every_reviewer(
    part: str,
    sealed: SealedAccount,
    reviewers: list[ReviewerPrivateKey],
    trusted: dict[str, bytes],
) -> None:
    changed = TAMPERS[part](sealed)
    for reviewer in reviewers:
        with pytest.raises(TamperedData) as caught:
            open_account(changed, reviewer, trusted)
        assert_no_content(caught.value)


def test_each_wrapped_key_tampered_is_refused(
    sealed: SealedAccount, reviewers: list[ReviewerPrivateKey], trusted: dict[str, bytes]
) -> None:
    for fingerprint, blob in sealed.recipients.items():
        for index in (0, len(blob) // 2, -1):
            changed = replace(
                sealed, recipients={**sealed.recipients, fingerprint: _flip(blob, index)}
            )
            for reviewer in reviewers:
                with pytest.raises(TamperedData):
                    open_account(changed, reviewer, trusted)


def test_swapped_wrapped_keys_are_refused(
    sealed: SealedAccount, reviewers: list[ReviewerPrivateKey], trusted: dict[str, bytes]
) -> None:
    a, b = reviewers[0].fingerprint, reviewers[2].fingerprint
    swapped = {**sealed.recipients, a: sealed.recipients[b], b: sealed.recipients[a]}
    with pytest.raises(TamperedData):
        open_account(replace(sealed, recipients=swapped), reviewers[0], trusted)


def test_node_fingerprint_swapped_is_refused(
    sealed: SealedAccount, reviewers: list[ReviewerPrivateKey], node: NodeKeys
) -> None:
    other = NodeKeys.generate()
    both = {node.fingerprint: node.public_key_bytes, other.fingerprint: other.public_key_bytes}
    with pytest.raises(TamperedData):
        open_account(replace(sealed, node_fingerprint=other.fingerprint), reviewers[0], both)
    with pytest.raises(UntrustedNode):
        open_account(replace(sealed, node_fingerprint="e" * 32), reviewers[0], both)


def test_an_account_from_a_node_that_is_not_pinned_is_refused(
    sealed: SealedAccount, reviewers: list[ReviewerPrivateKey]
) -> None:
    with pytest.raises(UntrustedNode) as caught:
        open_account(sealed, reviewers[0], {})
    assert_no_content(caught.value)


def _resign(sealed: SealedAccount, signer: NodeKeys, claim: str) -> SealedAccount:
    metadata = {**sealed.metadata, "urgent": True}
    data = _signed_bytes(sealed.account_id, metadata, sealed.recipients, sealed.body, claim)
    return replace(sealed, metadata=metadata, node_fingerprint=claim, signature=signer.sign(data))


def test_an_account_re_signed_by_an_unknown_node_key_is_refused(
    sealed: SealedAccount, reviewers: list[ReviewerPrivateKey], trusted: dict[str, bytes]
) -> None:
    intruder = NodeKeys.generate()
    with pytest.raises(UntrustedNode):
        open_account(_resign(sealed, intruder, intruder.fingerprint), reviewers[0], trusted)
    # claiming to be the trusted node does not help: its key does not verify the signature
    with pytest.raises(TamperedData):
        open_account(_resign(sealed, intruder, sealed.node_fingerprint), reviewers[0], trusted)


def test_metadata_re_signed_by_the_trusted_node_still_cannot_move_the_body(
    sealed: SealedAccount,
    reviewers: list[ReviewerPrivateKey],
    node: NodeKeys,
    trusted: dict[str, bytes],
) -> None:
    """The body's AAD binds the metadata, so even a valid signature over changed metadata fails."""
    resigned = _resign(sealed, node, node.fingerprint)
    verify_account(resigned, trusted)  # the signature itself is fine
    with pytest.raises(TamperedData):
        open_account(resigned, reviewers[0], trusted)


def test_a_body_moved_from_another_account_is_refused(
    node: NodeKeys, reviewers: list[ReviewerPrivateKey], trusted: dict[str, bytes]
) -> None:
    publics = [r.public for r in reviewers]
    first = seal_account(BODY, METADATA, publics, node)
    second = seal_account({"answers": []}, METADATA, publics, node)
    spliced = replace(first, body=second.body, recipients=second.recipients)
    data = _signed_bytes(
        spliced.account_id, spliced.metadata, spliced.recipients, spliced.body, node.fingerprint
    )
    spliced = replace(spliced, signature=node.sign(data))
    with pytest.raises(TamperedData):
        open_account(spliced, reviewers[0], trusted)


def test_round_trip_through_json_dict(
    sealed: SealedAccount, reviewers: list[ReviewerPrivateKey], trusted: dict[str, bytes]
) -> None:
    stored = json.loads(json.dumps(sealed.to_dict()))
    restored = SealedAccount.from_dict(stored)
    assert restored == sealed
    assert open_account(restored, reviewers[1], trusted) == BODY


def test_tuples_in_metadata_read_back_identically(
    node: NodeKeys, reviewers: list[ReviewerPrivateKey], trusted: dict[str, bytes]
) -> None:
    sealed = seal_account(
        BODY, {**METADATA, "scopes": ("documentation",)}, [reviewers[0].public], node
    )
    restored = SealedAccount.from_dict(json.loads(json.dumps(sealed.to_dict())))
    assert open_account(restored, reviewers[0], trusted) == BODY


DAMAGES: dict[str, Callable[[dict[str, Any]], object]] = {
    "not a dict": lambda d: "account",
    "no version": lambda d: {k: v for k, v in d.items() if k != "version"},
    "no body": lambda d: {k: v for k, v in d.items() if k != "body"},
    "no signature": lambda d: {k: v for k, v in d.items() if k != "signature"},
    "body not base64": lambda d: {**d, "body": "***"},
    "body truncated": lambda d: {**d, "body": d["body"][:8]},
    "signature short": lambda d: {**d, "signature": d["signature"][:20]},
    "recipients empty": lambda d: {**d, "recipients": {}},
    "recipients a list": lambda d: {**d, "recipients": [1]},
    "recipient not base64": lambda d: {**d, "recipients": {"a" * 32: 7}},
    "recipient bad name": lambda d: {**d, "recipients": {"x": d["body"]}},
    "account id bad": lambda d: {**d, "account_id": "../../etc"},
    "metadata a string": lambda d: {**d, "metadata": "urgent"},
    "metadata NaN": lambda d: {**d, "metadata": {"x": float("nan")}},
    "node fingerprint number": lambda d: {**d, "node_fingerprint": 5},
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_corrupted_or_truncated_dicts_are_corrupt_data(damage: str, sealed: SealedAccount) -> None:
    with pytest.raises(CorruptData) as caught:
        SealedAccount.from_dict(DAMAGES[damage](sealed.to_dict()))
    assert_no_content(caught.value)
    assert sealed.to_dict()["body"][:12] not in str(caught.value)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_damage_to_a_stored_row_is_always_a_clean_crypto_error(
    data: st.DataObject,
    sealed: SealedAccount,
    reviewers: list[ReviewerPrivateKey],
    trusted: dict[str, bytes],
) -> None:
    """Any byte changed or cut in the stored JSON gives a CryptoError or the exact body."""
    text = json.dumps(sealed.to_dict())
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(text) - 1))
        damaged = text[:cut]
    else:
        index = data.draw(st.integers(0, len(text) - 1))
        damaged = text[:index] + data.draw(st.characters(codec="ascii")) + text[index + 1 :]
    try:
        document = json.loads(damaged)
    except json.JSONDecodeError:
        return  # the store's own problem: not JSON at all
    try:
        assert open_account(SealedAccount.from_dict(document), reviewers[1], trusted) == BODY
    except CryptoError as error:
        assert_no_content(error)
