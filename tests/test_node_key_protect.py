"""A protected node key (issue 15, item 1): a copy of node.key alone gives up nothing."""

from __future__ import annotations

import base64
import io
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.node import NodeError, open_node
from bot.node_key import CREDENTIAL_NAME, load_node_keys, node_passphrase
from bot.settings import load_settings
from storage.crypto import FAST_KDF, NodeKeys
from storage.errors import CorruptData, NodeKeyLocked, WrongPassphrase

PASSPHRASE = "lantern orchard seven bridges"


def keys(data_dir: Path, *args: str, **env: str | None) -> Result:
    environment: dict[str, str | None] = {
        "ATTEST_DATA_DIR": str(data_dir),
        "ATTEST_NODE_PASSPHRASE": None,
        "CREDENTIALS_DIRECTORY": None,
        "ATTEST_NODE_KEY": None,
        "ATTEST_LANGUAGE": None,
        **env,
    }
    return CliRunner().invoke(main, ["keys", *args], env=environment)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_protected_file_holds_no_key_in_the_clear_and_opens_with_its_passphrase(
    tmp_path: Path,
) -> None:
    path = tmp_path / "node.key"
    node = NodeKeys.load_or_create(path)
    node.protect(path, PASSPHRASE, FAST_KDF)
    raw = path.read_bytes()
    for secret in (node.master_key, node.pseudonym_secret):
        assert secret not in raw
        assert base64.b64encode(secret) not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert NodeKeys.is_protected(path)
    opened = NodeKeys.load(path, PASSPHRASE)
    assert opened.fingerprint == node.fingerprint
    assert opened.master_key == node.master_key
    assert opened.pseudonym("telegram", 42) == node.pseudonym("telegram", 42)


def test_a_protected_file_refuses_without_or_with_a_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    NodeKeys.load_or_create(path).protect(path, PASSPHRASE, FAST_KDF)
    before = path.read_bytes()
    with pytest.raises(NodeKeyLocked):
        NodeKeys.load(path)
    with pytest.raises(WrongPassphrase):
        NodeKeys.load(path, "lantern orchard seven bridge")
    with pytest.raises(NodeKeyLocked):
        NodeKeys.load_or_create(path)
    assert path.read_bytes() == before


def test_a_changed_public_key_in_the_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "node.key"
    NodeKeys.load_or_create(path).protect(path, PASSPHRASE, FAST_KDF)
    other = base64.b64encode(NodeKeys.generate().public_key_bytes).decode()
    text = path.read_text()
    import json

    document = json.loads(text)
    document["public_key"] = other
    path.write_text(json.dumps(document))
    # The header is the AEAD's associated data: a swapped key is a failed unwrap.
    with pytest.raises((WrongPassphrase, CorruptData)):
        NodeKeys.load(path, PASSPHRASE)


def test_the_passphrase_comes_from_the_environment_or_a_systemd_credential(
    tmp_path: Path,
) -> None:
    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / CREDENTIAL_NAME).write_text(PASSPHRASE + "\n")
    assert node_passphrase({"CREDENTIALS_DIRECTORY": str(credentials)}) == PASSPHRASE
    assert node_passphrase({"ATTEST_NODE_PASSPHRASE": "other words here"}) == "other words here"
    assert node_passphrase({"CREDENTIALS_DIRECTORY": str(tmp_path / "absent")}) is None
    assert node_passphrase({}) is None

    data_dir = tmp_path / "data"
    node = NodeKeys.load_or_create(data_dir / "node.key")
    node.protect(data_dir / "node.key", PASSPHRASE, FAST_KDF)
    opened = load_node_keys(data_dir, {"CREDENTIALS_DIRECTORY": str(credentials)})
    assert opened.fingerprint == node.fingerprint


def test_protect_node_command_wraps_the_key_and_keeps_its_fingerprint(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    node = NodeKeys.load_or_create(data_dir / "node.key")
    result = keys(data_dir, "protect-node", ATTEST_NODE_PASSPHRASE=PASSPHRASE)
    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    assert NodeKeys.is_protected(data_dir / "node.key")
    assert NodeKeys.load(data_dir / "node.key", PASSPHRASE).fingerprint == node.fingerprint
    again = keys(data_dir, "protect-node", ATTEST_NODE_PASSPHRASE=PASSPHRASE)
    assert again.exit_code != 0
    assert "already protected" in again.output
    # `keys node` needs the passphrase now, and prints the same fingerprint with it.
    locked = keys(data_dir, "node")
    assert locked.exit_code != 0
    assert "ATTEST_NODE_PASSPHRASE" in locked.output
    shown = keys(data_dir, "node", ATTEST_NODE_PASSPHRASE=PASSPHRASE)
    assert node.fingerprint in shown.output


def test_protect_node_refuses_a_short_passphrase_and_changes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    NodeKeys.load_or_create(data_dir / "node.key")
    before = (data_dir / "node.key").read_bytes()
    result = keys(data_dir, "protect-node", ATTEST_NODE_PASSPHRASE="short")
    assert result.exit_code != 0
    assert (data_dir / "node.key").read_bytes() == before


async def test_the_node_starts_with_the_right_passphrase_and_the_credential_file(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    node = NodeKeys.load_or_create(data_dir / "node.key")
    node.protect(data_dir / "node.key", PASSPHRASE, FAST_KDF)
    settings = load_settings({"ATTEST_DATA_DIR": str(data_dir)})
    opened = await open_node(
        settings, env={"ATTEST_NODE_PASSPHRASE": PASSPHRASE}, warn=io.StringIO()
    )
    try:
        assert opened.keys.fingerprint == node.fingerprint
    finally:
        await opened.close()
    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / CREDENTIAL_NAME).write_text(PASSPHRASE)
    opened = await open_node(
        settings, env={"CREDENTIALS_DIRECTORY": str(credentials)}, warn=io.StringIO()
    )
    try:
        assert opened.keys.fingerprint == node.fingerprint
    finally:
        await opened.close()


@pytest.mark.parametrize("env", [{}, {"ATTEST_NODE_PASSPHRASE": "not the passphrase"}])
async def test_a_wrong_or_missing_passphrase_refuses_to_start_and_writes_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    data_dir = tmp_path / "data"
    NodeKeys.load_or_create(data_dir / "node.key").protect(
        data_dir / "node.key", PASSPHRASE, FAST_KDF
    )
    before = snapshot(data_dir)
    settings = load_settings({"ATTEST_DATA_DIR": str(data_dir)})
    with pytest.raises(NodeError) as refused:
        await open_node(settings, env=env, warn=io.StringIO())
    assert "ATTEST_NODE_PASSPHRASE" in str(refused.value)
    assert "not the passphrase" not in str(refused.value)
    assert snapshot(data_dir) == before  # no demo key, no store, no migration
