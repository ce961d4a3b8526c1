"""A damaged node key file stops `attest console` and `attest run` with what to fix, no traceback."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from storage.crypto import generate_reviewer_key
from tests.fakebotapi import TOKEN


def _damaged_node(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "node"
    data.mkdir()
    (data / "node.key").write_text('{"broken', encoding="utf-8")
    public = tmp_path / "reviewer.pub"
    generate_reviewer_key("x25519").public.save(public)
    return {
        "ATTEST_DATA_DIR": str(data),
        "ATTEST_TELEGRAM_TOKEN": TOKEN,
        "ATTEST_REVIEWER_KEYS": str(public),
    }


def test_console_names_the_damaged_key_file(tmp_path: Path) -> None:
    env = _damaged_node(tmp_path)
    result = CliRunner().invoke(main, ["console", "--jsonl"], env=env, input="1\n")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "node.key" in result.output and "damaged" in result.output


def test_run_names_the_damaged_key_file_not_the_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run"], env=_damaged_node(tmp_path))
    assert result.exit_code == 1
    assert "Cannot open the database" not in result.output
    assert "node.key" in result.output and "damaged" in result.output


def test_a_data_directory_that_cannot_be_made_is_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    env = {"ATTEST_DATA_DIR": str(blocker / "data")}
    result = CliRunner().invoke(main, ["console", "--jsonl"], env=env, input="1\n")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "data directory" in result.output and str(blocker / "data") in result.output


def test_a_node_key_path_that_cannot_be_read_is_a_message(tmp_path: Path) -> None:
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "node"),
        "ATTEST_NODE_KEY": str(tmp_path),  # a directory, not a key file
    }
    result = CliRunner().invoke(main, ["console", "--jsonl"], env=env, input="1\n")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "node key" in result.output


def test_console_on_a_damaged_intake_database_says_so(tmp_path: Path) -> None:
    data = tmp_path / "node"
    data.mkdir()
    (data / "intake.db").write_bytes(b"\x13not a database at all" * 300)
    env = {"ATTEST_DATA_DIR": str(data)}
    result = CliRunner().invoke(main, ["console", "--jsonl"], env=env, input="1\n")
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Cannot open the database" in result.output
