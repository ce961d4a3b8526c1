"""`attest keys`: what a node operator and a reviewer type, and what they see."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from storage.crypto import NodeKeys, ReviewerPrivateKey, ReviewerPublicKey
from storage.errors import WrongPassphrase
from storage.intake.keyring import ENV_KEYS, ensure_demo_reviewer, load_reviewer_keys

PASSPHRASE = "river stone paper lamp"


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "attest-data"


def attest(data_dir: Path, *args: str, input: str | None = None, **env: str | None) -> Result:
    environment: dict[str, str | None] = {
        "ATTEST_DATA_DIR": str(data_dir),
        "ATTEST_REVIEWER_PASSPHRASE": None,
        ENV_KEYS: None,
        "ATTEST_LANGUAGE": None,
        **env,
    }
    return CliRunner().invoke(main, ["keys", *args], input=input, env=environment)


def init_reviewer(data_dir: Path, out: Path, *extra: str) -> Result:
    result = attest(
        data_dir, "init-reviewer", "--out", str(out), *extra, ATTEST_REVIEWER_PASSPHRASE=PASSPHRASE
    )
    assert result.exit_code == 0, result.output
    return result


def test_node_prints_the_public_key_and_fingerprint_reviewers_pin(data_dir: Path) -> None:
    result = attest(data_dir, "node")
    assert result.exit_code == 0, result.output
    node = NodeKeys.load(data_dir / "node.key")
    assert node.fingerprint in result.output
    assert base64.b64encode(node.public_key_bytes).decode() in result.output
    assert base64.b64encode(node.master_key).decode() not in result.output
    assert attest(data_dir, "node").output == result.output  # same keys next time


def test_init_reviewer_with_the_passphrase_from_the_environment(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "alice"
    result = init_reviewer(data_dir, out)
    key = ReviewerPrivateKey.load(out / "reviewer.key", PASSPHRASE)
    assert key.public.suite == "hybrid"
    assert ReviewerPublicKey.load(out / "reviewer.pub") == key.public
    for shown in (str(out / "reviewer.key"), str(out / "reviewer.pub"), key.fingerprint):
        assert shown in result.output
    assert PASSPHRASE not in result.output
    with pytest.raises(WrongPassphrase):
        ReviewerPrivateKey.load(out / "reviewer.key", "something else")


def test_init_reviewer_asks_for_the_passphrase_twice_without_echo(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "bob"
    result = attest(
        data_dir,
        "init-reviewer",
        "--out",
        str(out),
        "--suite",
        "x25519",
        input=f"{PASSPHRASE}\n{PASSPHRASE}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("assphrase") >= 2
    assert PASSPHRASE not in result.output
    assert ReviewerPrivateKey.load(out / "reviewer.key", PASSPHRASE).public.suite == "x25519"


def test_mismatched_confirmation_asks_again(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "carol"
    typed = f"{PASSPHRASE}\ntypo typo typo\n{PASSPHRASE}\n{PASSPHRASE}\n"
    result = attest(data_dir, "init-reviewer", "--out", str(out), input=typed)
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output.lower() or "don't match" in result.output.lower()
    assert ReviewerPrivateKey.load(out / "reviewer.key", PASSPHRASE)


def test_a_short_passphrase_is_refused_and_nothing_is_written(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "dan"
    result = attest(
        data_dir, "init-reviewer", "--out", str(out), ATTEST_REVIEWER_PASSPHRASE="short"
    )
    assert result.exit_code != 0
    assert "at least 8" in result.output
    assert not (out / "reviewer.key").exists()


def test_init_reviewer_never_overwrites_an_existing_key(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "erin"
    init_reviewer(data_dir, out)
    before = (out / "reviewer.key").read_bytes()
    result = attest(
        data_dir, "init-reviewer", "--out", str(out), ATTEST_REVIEWER_PASSPHRASE=PASSPHRASE
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert (out / "reviewer.key").read_bytes() == before


def test_add_list_remove(tmp_path: Path, data_dir: Path) -> None:
    init_reviewer(data_dir, tmp_path / "alice")
    init_reviewer(data_dir, tmp_path / "bob", "--suite", "x25519")
    alice = ReviewerPublicKey.load(tmp_path / "alice" / "reviewer.pub")
    bob = ReviewerPublicKey.load(tmp_path / "bob" / "reviewer.pub")

    empty = attest(data_dir, "list")
    assert empty.exit_code == 0 and "No reviewer keys" in empty.output

    for name in ("alice", "bob"):
        added = attest(data_dir, "add-reviewer", str(tmp_path / name / "reviewer.pub"))
        assert added.exit_code == 0, added.output
    listing = attest(data_dir, "list").output
    assert f"{alice.fingerprint}  hybrid  data directory" in listing
    assert f"{bob.fingerprint}  x25519  data directory" in listing

    removed = attest(data_dir, "remove-reviewer", alice.fingerprint[:10])
    assert removed.exit_code == 0, removed.output
    assert alice.fingerprint in removed.output
    assert load_reviewer_keys(data_dir, {}) == [bob]
    unknown = attest(data_dir, "remove-reviewer", alice.fingerprint)
    assert unknown.exit_code != 0 and "attest keys list" in unknown.output


def test_list_marks_the_demo_key_and_environment_keys(tmp_path: Path, data_dir: Path) -> None:
    demo = ensure_demo_reviewer(data_dir)
    assert demo is not None
    listing = attest(data_dir, "list").output
    assert demo.fingerprint in listing and "DEMO" in listing
    assert "not sealed to" not in listing

    init_reviewer(data_dir, tmp_path / "frank")
    pub = tmp_path / "frank" / "reviewer.pub"
    listing = attest(data_dir, "list", **{ENV_KEYS: str(pub)}).output
    frank = ReviewerPublicKey.load(pub)
    assert f"{frank.fingerprint}  hybrid  {ENV_KEYS}" in listing
    demo_line = next(line for line in listing.splitlines() if demo.fingerprint in line)
    assert "not sealed to" in demo_line
    refused = attest(data_dir, "remove-reviewer", frank.fingerprint, **{ENV_KEYS: str(pub)})
    assert refused.exit_code != 0 and ENV_KEYS in refused.output


def test_adding_a_private_key_by_mistake_is_refused(tmp_path: Path, data_dir: Path) -> None:
    init_reviewer(data_dir, tmp_path / "gina")
    result = attest(data_dir, "add-reviewer", str(tmp_path / "gina" / "reviewer.key"))
    assert result.exit_code != 0
    assert "reviewer.pub" in result.output
    assert not (data_dir / "reviewers").exists() or not os.listdir(data_dir / "reviewers")
    secret = json.loads((tmp_path / "gina" / "reviewer.key").read_text())["wrapped_private_key"]
    assert secret[:16] not in result.output


def test_missing_file_is_a_clear_error(tmp_path: Path, data_dir: Path) -> None:
    result = attest(data_dir, "add-reviewer", str(tmp_path / "nowhere.pub"))
    assert result.exit_code != 0
    assert "no key file" in result.output.lower()
