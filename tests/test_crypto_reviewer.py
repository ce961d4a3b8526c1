"""Reviewer keys: both suites, passphrase-wrapped with Argon2id, refused when anything is off."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from storage.crypto import (
    FAST_KDF,
    KdfParams,
    ReviewerPrivateKey,
    ReviewerPublicKey,
    generate_reviewer_key,
)
from storage.errors import CorruptData, KeyFileMissing, WrongPassphrase

PASSPHRASE = "lantern orchard seventeen"


@pytest.mark.parametrize("suite", ["hybrid", "x25519"])
def test_key_pair_survives_a_save_and_load(tmp_path: Path, suite: str) -> None:
    key = generate_reviewer_key(suite)
    key.save(tmp_path / "reviewer.key", PASSPHRASE, FAST_KDF)
    key.public.save(tmp_path / "reviewer.pub")
    loaded = ReviewerPrivateKey.load(tmp_path / "reviewer.key", PASSPHRASE)
    public = ReviewerPublicKey.load(tmp_path / "reviewer.pub")
    assert loaded.fingerprint == key.fingerprint == public.fingerprint
    assert public.suite == loaded.public.suite == suite
    assert stat.S_IMODE((tmp_path / "reviewer.key").stat().st_mode) == 0o600
    content_key = bytes(range(32))
    sealed = public.seal_key(content_key, b"info")
    assert loaded.open_key(sealed, b"info") == content_key


def test_the_kdf_parameters_and_salt_are_in_the_file(tmp_path: Path) -> None:
    params = KdfParams(memory_cost=128, iterations=2, lanes=1)
    generate_reviewer_key("x25519").save(tmp_path / "k", PASSPHRASE, params)
    kdf = json.loads((tmp_path / "k").read_text())["kdf"]
    assert kdf["name"] == "argon2id"
    assert (kdf["memory_cost"], kdf["iterations"], kdf["lanes"]) == (128, 2, 1)
    assert len(kdf["salt"]) >= 16
    assert ReviewerPrivateKey.load(tmp_path / "k", PASSPHRASE)


def test_production_parameters_are_strong() -> None:
    params = KdfParams()
    assert params.memory_cost >= 64 * 1024 and params.iterations >= 3


def test_wrong_passphrase_is_refused_without_echoing_it(tmp_path: Path) -> None:
    generate_reviewer_key("hybrid").save(tmp_path / "k", PASSPHRASE, FAST_KDF)
    with pytest.raises(WrongPassphrase) as caught:
        ReviewerPrivateKey.load(tmp_path / "k", "lantern orchard seventeeN")
    message = str(caught.value)
    assert "passphrase" in message
    assert "lantern" not in message and "seventee" not in message


def test_passphrases_are_compared_after_unicode_normalisation(tmp_path: Path) -> None:
    generate_reviewer_key("x25519").save(tmp_path / "k", "café olive", FAST_KDF)
    assert ReviewerPrivateKey.load(tmp_path / "k", "cafe\u0301 olive")


def test_editing_any_clear_field_of_the_private_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    generate_reviewer_key("x25519").save(path, PASSPHRASE, FAST_KDF)
    original = json.loads(path.read_text())
    other_public = generate_reviewer_key("x25519").public.to_dict()
    edits = {
        "public key swapped": {
            "public_key": other_public["public_key"],
            "fingerprint": other_public["fingerprint"],
        },
        "iterations lowered": {"kdf": {**original["kdf"], "iterations": 2}},
        "demo flag flipped": {"demo": True},
        "ciphertext changed": {"wrapped_private_key": "A" + original["wrapped_private_key"][1:]},
    }
    for name, edit in edits.items():
        path.write_text(json.dumps({**original, **edit}))
        with pytest.raises((WrongPassphrase, CorruptData)):
            ReviewerPrivateKey.load(path, PASSPHRASE)
        assert name  # keeps the case readable in a failure


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: {**d, "kdf": {**d["kdf"], "memory_cost": 2**40}},
        lambda d: {**d, "kdf": {**d["kdf"], "iterations": 0}},
        lambda d: {**d, "kdf": {**d["kdf"], "name": "pbkdf2"}},
        lambda d: {**d, "nonce": "!!"},
        lambda d: {**d, "suite": "rsa"},
        lambda d: {k: v for k, v in d.items() if k != "wrapped_private_key"},
        lambda d: {**d, "version": 3},  # version 2 is a valid format since issue 15
        lambda d: [1, 2, 3],
    ],
)
def test_damaged_private_files_are_corrupt_data(tmp_path: Path, damage: object) -> None:
    path = tmp_path / "k"
    generate_reviewer_key("x25519").save(path, PASSPHRASE, FAST_KDF)
    document = json.loads(path.read_text())
    path.write_text(json.dumps(damage(document)))  # type: ignore[operator]
    with pytest.raises(CorruptData):
        ReviewerPrivateKey.load(path, PASSPHRASE)


def test_truncated_files_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    key = generate_reviewer_key("hybrid")
    key.save(tmp_path / "k", PASSPHRASE, FAST_KDF)
    key.public.save(tmp_path / "p")
    for name in ("k", "p"):
        (tmp_path / name).write_bytes((tmp_path / name).read_bytes()[:100])
    with pytest.raises(CorruptData):
        ReviewerPrivateKey.load(tmp_path / "k", PASSPHRASE)
    with pytest.raises(CorruptData):
        ReviewerPublicKey.load(tmp_path / "p")
    with pytest.raises(KeyFileMissing):
        ReviewerPublicKey.load(tmp_path / "absent.pub")


def test_public_file_with_a_wrong_fingerprint_or_key_is_refused(tmp_path: Path) -> None:
    document = generate_reviewer_key("hybrid").public.to_dict()
    with pytest.raises(CorruptData):
        ReviewerPublicKey.from_dict({**document, "fingerprint": "0" * 32})
    with pytest.raises(CorruptData):
        ReviewerPublicKey.from_dict({**document, "public_key": document["public_key"][:40]})
    with pytest.raises(CorruptData):
        ReviewerPublicKey.from_dict({**document, "suite": "x25519"})


def test_a_private_key_file_is_not_taken_for_a_public_one(tmp_path: Path) -> None:
    generate_reviewer_key("x25519").save(tmp_path / "reviewer.key", PASSPHRASE, FAST_KDF)
    with pytest.raises(CorruptData, match="private"):
        ReviewerPublicKey.load(tmp_path / "reviewer.key")


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    first = generate_reviewer_key("x25519")
    first.save(tmp_path / "k", PASSPHRASE, FAST_KDF)
    with pytest.raises(FileExistsError):
        generate_reviewer_key("x25519").save(tmp_path / "k", PASSPHRASE, FAST_KDF)
    assert ReviewerPrivateKey.load(tmp_path / "k", PASSPHRASE).fingerprint == first.fingerprint


def test_repr_shows_only_the_fingerprint() -> None:
    key = generate_reviewer_key("x25519")
    assert key.fingerprint in repr(key)
    assert key._private_raw.hex() not in repr(key)
    assert "public_bytes" not in repr(key.public)


def test_unknown_suite_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_reviewer_key("rsa")
