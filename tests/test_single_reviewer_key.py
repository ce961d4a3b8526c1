"""One reviewer key is one point of loss (issue 15, item 3): said at start-up and in `keys list`."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner, Result

from bot.cli import main
from bot.node import open_node
from bot.settings import load_settings
from storage.crypto import FAST_KDF, generate_reviewer_key

PASSPHRASE = "river stone paper lamp"


def keys(data_dir: Path, *args: str) -> Result:
    env: dict[str, str | None] = {
        "ATTEST_DATA_DIR": str(data_dir),
        "ATTEST_REVIEWER_KEYS": None,
        "ATTEST_LANGUAGE": None,
        "ATTEST_NODE_PASSPHRASE": None,
    }
    return CliRunner().invoke(main, ["keys", *args], env=env)


def _public(tmp_path: Path, name: str) -> Path:
    key = generate_reviewer_key("x25519", name=name)
    key.save(tmp_path / f"{name}.key", PASSPHRASE, FAST_KDF)
    key.public.save(tmp_path / f"{name}.pub")
    return tmp_path / f"{name}.pub"


async def test_one_real_key_warns_at_start_and_in_keys_list_two_do_not(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert keys(data_dir, "add-reviewer", str(_public(tmp_path, "alice"))).exit_code == 0
    listed = keys(data_dir, "list")
    assert "only one reviewer key" in listed.output
    warn = io.StringIO()
    node = await open_node(load_settings({"ATTEST_DATA_DIR": str(data_dir)}), env={}, warn=warn)
    await node.close()
    assert "only one reviewer key" in warn.getvalue()

    assert keys(data_dir, "add-reviewer", str(_public(tmp_path, "bob"))).exit_code == 0
    assert "only one reviewer key" not in keys(data_dir, "list").output
    warn = io.StringIO()
    node = await open_node(load_settings({"ATTEST_DATA_DIR": str(data_dir)}), env={}, warn=warn)
    await node.close()
    assert "only one reviewer key" not in warn.getvalue()


def test_remove_reviewer_says_what_it_does_not_undo(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    public = _public(tmp_path, "alice")
    assert keys(data_dir, "add-reviewer", str(public)).exit_code == 0
    fingerprint = public.read_text().split('"fingerprint": "')[1][:32]
    removed = keys(data_dir, "remove-reviewer", fingerprint)
    assert removed.exit_code == 0, removed.output
    text = " ".join(removed.output.split())
    assert "that key still opens them" in text
    assert "attest review reseal --to FILE" in text
