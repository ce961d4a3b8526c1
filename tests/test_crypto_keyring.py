"""Which reviewer keys accounts are sealed to: the data directory's, the environment's, or the demo key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.crypto import (
    FAST_KDF,
    NodeKeys,
    ReviewerPrivateKey,
    ReviewerPublicKey,
    generate_reviewer_key,
    open_account,
    seal_account,
)
from storage.errors import CorruptData, KeyFileMissing
from storage.intake.keyring import (
    DEMO_DIR,
    DEMO_PASSPHRASE,
    DEMO_WARNING,
    ENV_KEYS,
    add_reviewer,
    ensure_demo_reviewer,
    is_demo_only,
    list_reviewer_keys,
    load_reviewer_keys,
    remove_reviewer,
)

ROOT = Path(__file__).resolve().parent.parent


def public_file(
    tmp_path: Path, name: str, suite: str = "x25519"
) -> tuple[Path, ReviewerPrivateKey]:
    key = generate_reviewer_key(suite)
    path = tmp_path / f"{name}.pub"
    key.public.save(path)
    return path, key


def test_nothing_configured_means_no_keys_until_the_demo_key_is_made(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert load_reviewer_keys(data, {}) == []
    demo = ensure_demo_reviewer(data)
    assert demo is not None and demo.demo
    assert load_reviewer_keys(data, {}) == [demo]
    assert is_demo_only([demo])
    assert ensure_demo_reviewer(data) == demo  # made once


def test_the_demo_private_key_opens_with_the_documented_passphrase(tmp_path: Path) -> None:
    demo = ensure_demo_reviewer(tmp_path)
    assert demo is not None
    private = ReviewerPrivateKey.load(tmp_path / DEMO_DIR / "reviewer.key", DEMO_PASSPHRASE)
    node = NodeKeys.generate()
    sealed = seal_account({"a": 1}, {}, [demo], node)
    assert open_account(sealed, private, {node.fingerprint: node.public_key_bytes}) == {"a": 1}
    assert "demo" in DEMO_WARNING.lower() and "add-reviewer" in DEMO_WARNING


def test_once_a_real_key_is_added_the_demo_key_is_not_sealed_to(tmp_path: Path) -> None:
    data = tmp_path / "data"
    demo = ensure_demo_reviewer(data)
    source, real = public_file(tmp_path, "alice")
    added = add_reviewer(data, source)
    assert added.fingerprint == real.fingerprint
    keys = load_reviewer_keys(data, {})
    assert [k.fingerprint for k in keys] == [real.fingerprint]
    assert not is_demo_only(keys)
    assert ensure_demo_reviewer(data) is None
    listed = {e.key.fingerprint: e for e in list_reviewer_keys(data, {})}
    assert demo is not None and not listed[demo.fingerprint].in_use
    assert listed[real.fingerprint].source == "data-dir"


def test_no_demo_key_is_made_when_a_real_key_exists(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_reviewer(data, public_file(tmp_path, "alice")[0])
    assert ensure_demo_reviewer(data) is None
    assert not (data / DEMO_DIR).exists()


def test_environment_keys_are_added_to_the_data_directory_ones(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_reviewer(data, public_file(tmp_path, "alice")[0])
    bob, bob_key = public_file(tmp_path, "bob", "hybrid")
    carol, carol_key = public_file(tmp_path, "carol")
    env = {ENV_KEYS: os.pathsep.join([str(bob), "", str(carol)])}
    keys = load_reviewer_keys(data, env)
    assert len(keys) == 3
    assert {bob_key.fingerprint, carol_key.fingerprint} <= {k.fingerprint for k in keys}
    sources = {e.key.fingerprint: e.source for e in list_reviewer_keys(data, env)}
    assert sources[bob_key.fingerprint] == "environment"
    # the same key named twice is sealed to once
    assert len(load_reviewer_keys(data, {ENV_KEYS: os.pathsep.join([str(bob), str(bob)])})) == 2


def test_a_configured_key_file_that_is_missing_or_damaged_stops_loading(tmp_path: Path) -> None:
    with pytest.raises(KeyFileMissing) as missing:
        load_reviewer_keys(tmp_path, {ENV_KEYS: str(tmp_path / "gone.pub")})
    assert missing.value.path == tmp_path / "gone.pub"
    broken = tmp_path / "broken.pub"
    broken.write_text("{")
    with pytest.raises(CorruptData):
        load_reviewer_keys(tmp_path, {ENV_KEYS: str(broken)})


def test_private_and_demo_keys_cannot_be_added(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = generate_reviewer_key("x25519")
    key.save(tmp_path / "reviewer.key", "a long passphrase", FAST_KDF)
    with pytest.raises(CorruptData, match="private"):
        add_reviewer(data, tmp_path / "reviewer.key")
    demo = ensure_demo_reviewer(tmp_path / "other")
    assert demo is not None
    with pytest.raises(CorruptData, match="demo"):
        add_reviewer(data, tmp_path / "other" / DEMO_DIR / "reviewer.pub")
    assert load_reviewer_keys(data, {}) == []


def test_remove_by_fingerprint_or_unique_prefix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    alice = add_reviewer(data, public_file(tmp_path, "alice")[0])
    bob = add_reviewer(data, public_file(tmp_path, "bob")[0])
    assert remove_reviewer(data, alice.fingerprint[:3]) is None  # too short to be sure
    assert remove_reviewer(data, "not a fingerprint") is None
    removed = remove_reviewer(data, alice.fingerprint[:8].upper())
    assert removed == alice
    assert load_reviewer_keys(data, {}) == [bob]
    assert remove_reviewer(data, bob.fingerprint) == bob
    assert load_reviewer_keys(data, {}) == []


def test_processes_starting_together_share_one_demo_key(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from storage.intake.keyring import ensure_demo_reviewer; "
        "print(ensure_demo_reviewer(Path(sys.argv[1])).fingerprint)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    fingerprints = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert fingerprints == {
        ReviewerPublicKey.load(tmp_path / DEMO_DIR / "reviewer.pub").fingerprint
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [DEMO_DIR]


def test_a_demo_key_named_in_the_environment_is_not_sealed_to_beside_a_real_one(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    demo = ensure_demo_reviewer(tmp_path / "elsewhere")
    assert demo is not None
    demo_pub = tmp_path / "elsewhere" / DEMO_DIR / "reviewer.pub"
    env = {ENV_KEYS: str(demo_pub)}
    assert load_reviewer_keys(data, env) == [demo]
    assert is_demo_only(load_reviewer_keys(data, env))
    real = add_reviewer(data, public_file(tmp_path, "alice")[0])
    assert load_reviewer_keys(data, env) == [real]
