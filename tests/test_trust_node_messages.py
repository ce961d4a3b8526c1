"""`attest keys trust-node`: a mistyped fingerprint or a folder gets a message that says so."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli_queue import trust_node
from storage.crypto import NodeKeys
from storage.queue.admin import migrate_queue, open_queue
from tests.queue_support import make_account, put_accounts, reviewer


def _queue(tmp_path: Path, nodes: int = 1) -> tuple[dict[str, str], list[NodeKeys]]:
    url = str(tmp_path / "queue.db")
    engine = open_queue(url)
    migrate_queue(engine)
    engine.dispose()
    synced = [NodeKeys.generate() for _ in range(nodes)]
    for node in synced:
        put_accounts(url, node, [make_account(node, [reviewer("a")])])
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_TRUSTED_NODES": str(tmp_path / "trusted-nodes.json"),
    }
    return env, synced


def _typo(fingerprint: str) -> str:
    return fingerprint[:5] + ("0" if fingerprint[5] != "0" else "1") + fingerprint[6:]


def test_a_fingerprint_one_character_too_long_is_called_too_long(tmp_path: Path) -> None:
    env, (node,) = _queue(tmp_path)
    result = CliRunner().invoke(trust_node, [node.fingerprint + "a"], env=env)
    assert result.exit_code == 1
    assert "too long" in result.output
    assert "not a part of it" not in result.output


def test_a_one_character_typo_is_pointed_at_when_the_node_has_synced(tmp_path: Path) -> None:
    env, nodes = _queue(tmp_path, nodes=2)
    result = CliRunner().invoke(trust_node, [_typo(nodes[1].fingerprint)], env=env)
    assert result.exit_code == 1
    assert "typo" in result.output
    assert nodes[1].fingerprint in result.output  # the close one, to compare
    assert nodes[0].fingerprint not in result.output


def test_with_one_synced_node_a_wrong_fingerprint_names_it(tmp_path: Path) -> None:
    env, (node,) = _queue(tmp_path)
    other = NodeKeys.generate().fingerprint  # nothing like it
    result = CliRunner().invoke(trust_node, [other], env=env)
    assert result.exit_code == 1
    assert "typo" in result.output and node.fingerprint in result.output


def test_a_folder_is_called_a_folder(tmp_path: Path) -> None:
    env, _nodes = _queue(tmp_path)
    folder = tmp_path / "keys"
    folder.mkdir()
    result = CliRunner().invoke(trust_node, [str(folder)], env=env)
    assert result.exit_code == 1
    assert "is a folder" in result.output
    assert "There is no file" not in result.output
