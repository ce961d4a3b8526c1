"""Node keys: one file, shared by every process of a deployment, never leaking in a repr."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from storage.crypto import NodeKeys, fingerprint_of, verify_node_signature
from storage.errors import CorruptData, KeyFileMissing

ROOT = Path(__file__).resolve().parent.parent


def test_first_load_creates_an_owner_only_file_and_later_loads_share_it(tmp_path: Path) -> None:
    path = tmp_path / "data" / "node.key"
    first = NodeKeys.load_or_create(path)
    second = NodeKeys.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.fingerprint == second.fingerprint
    assert first.master_key == second.master_key
    assert first.pseudonym("telegram", 42) == second.pseudonym("telegram", 42)
    assert [p.name for p in path.parent.iterdir()] == ["node.key"]  # no temp file left


def test_processes_racing_to_create_the_key_end_with_the_same_keys(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    script = (
        "import sys; from pathlib import Path; from storage.crypto import NodeKeys; "
        "print(NodeKeys.load_or_create(Path(sys.argv[1])).fingerprint)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    fingerprints = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert fingerprints == {NodeKeys.load(path).fingerprint}


def test_fingerprint_is_the_start_of_the_public_keys_sha256(tmp_path: Path) -> None:
    node = NodeKeys.load_or_create(tmp_path / "node.key")
    assert len(node.fingerprint) == 32
    assert node.fingerprint == fingerprint_of(node.public_key_bytes)


def test_signatures_verify_with_the_public_key_only(tmp_path: Path) -> None:
    node = NodeKeys.load_or_create(tmp_path / "node.key")
    signature = node.sign(b"account")
    assert verify_node_signature(node.public_key_bytes, signature, b"account")
    assert not verify_node_signature(node.public_key_bytes, signature, b"accounT")
    other = NodeKeys.generate()
    assert not verify_node_signature(other.public_key_bytes, signature, b"account")


def test_pseudonyms_differ_by_channel_and_chat_and_hide_the_chat_id() -> None:
    node = NodeKeys.generate()
    alias = node.pseudonym("telegram", 123456789)
    assert alias == node.pseudonym("telegram", "123456789")
    assert alias != node.pseudonym("console", 123456789)
    assert alias != node.pseudonym("telegram", 123456788)
    assert alias != NodeKeys.generate().pseudonym("telegram", 123456789)
    assert "123456789" not in alias
    # channel and chat id cannot be shifted into each other
    assert node.pseudonym("tele", "gram1") != node.pseudonym("telegram", "1")


def test_withdrawal_tags_match_however_the_code_is_typed() -> None:
    node = NodeKeys.generate()
    tag = node.withdrawal_secret("K7QP-2M9X")
    assert node.withdrawal_secret("k7qp 2m9x") == tag
    assert node.withdrawal_secret(" K7QP2M9X\n") == tag
    assert node.withdrawal_secret("K7QP-2M9Y") != tag
    # a withdrawal tag is never a pseudonym of the same text
    assert tag != node.pseudonym("", "K7QP2M9X")


def test_repr_shows_no_secret() -> None:
    node = NodeKeys.generate()
    text = repr(node)
    assert node.fingerprint in text
    for secret in (node.master_key, node.pseudonym_secret):
        assert secret.hex() not in text


def test_missing_or_damaged_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileMissing):
        NodeKeys.load(tmp_path / "absent.key")
    path = tmp_path / "node.key"
    NodeKeys.load_or_create(path)
    document = json.loads(path.read_text())
    secret = document["master_key"]

    path.write_text(path.read_text()[:40])
    with pytest.raises(CorruptData) as truncated:
        NodeKeys.load(path)
    document["master_key"] = secret[:10]
    path.write_text(json.dumps(document))
    with pytest.raises(CorruptData) as short_key:
        NodeKeys.load(path)
    for error in (truncated.value, short_key.value):
        assert secret not in str(error)
        assert secret[:10] not in str(error)


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    before = NodeKeys.load_or_create(path)
    mtime = os.stat(path).st_mtime_ns
    assert NodeKeys.load_or_create(path).fingerprint == before.fingerprint
    assert os.stat(path).st_mtime_ns == mtime
