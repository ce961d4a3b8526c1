"""Paths that cannot hurt (issue 16): nothing created by reading, --out never guesses, Ctrl-C.

Messages are compared with `tests/golden/cli/errors.txt` like the other operator errors.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from storage.crypto import NodeKeys
from tests.queue_support import (
    PASSPHRASE,
    fresh_queue_url,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)
from tests.test_operator_errors import attest, golden

VOICE = b"OggS voice " * 1000


@pytest.fixture
def desk_env(tmp_path: Path) -> tuple[dict[str, str], str]:
    """A SQLite queue with one account with a file, its node pinned; (environment, id)."""
    queue = next(fresh_queue_url("sqlite", tmp_path))
    node = NodeKeys.generate()
    item = make_account(node, [reviewer("a")], attachments=[VOICE])
    put_accounts(queue, node, [item])
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": queue,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    assert attest("keys", "trust-node", node.fingerprint, env=env).exit_code == 0
    return env, item.sealed.account_id


READ_ONLY = (
    ["review", "list"],
    ["review", "show", "0123456789abcdef"],
    ["review", "claim"],
    ["review", "audit", "verify"],
    ["review", "audit", "show"],
    ["keys", "trust-node", "ab" * 16],
    ["queue", "withdrawals", "list"],
)


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: " ".join(c[:2]))
def test_commands_on_a_queue_that_is_not_there_create_nothing(
    tmp_path: Path, command: list[str], record_golden: bool
) -> None:
    nowhere = tmp_path / "usb" / "queue.db"
    data = tmp_path / "data"
    env = {
        "ATTEST_DATA_DIR": str(data),
        "ATTEST_QUEUE_URL": str(nowhere),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
    }
    result = attest(*command, env=env)
    assert result.exit_code == 1, result.output
    assert "There is no reviewer queue at" in result.output
    assert not (tmp_path / "usb").exists()
    assert not data.exists()
    if command == ["review", "list"]:
        golden("no-queue-here", result, tmp_path, record_golden)
    # Without ATTEST_QUEUE_URL the queue is DATA_DIR/queue.db: neither is made.
    del env["ATTEST_QUEUE_URL"]
    assert attest(*command, env=env).exit_code == 1
    assert not data.exists()


def test_import_into_a_queue_that_is_not_there_creates_nothing(tmp_path: Path) -> None:
    kit = next(fresh_queue_url("sqlite", tmp_path))
    env = {"ATTEST_DATA_DIR": str(tmp_path / "data"), "ATTEST_QUEUE_URL": str(tmp_path / "x.db")}
    result = attest("queue", "import", kit, env=env)
    assert result.exit_code == 1 and "There is no reviewer queue at" in result.output
    assert not (tmp_path / "x.db").exists()


def test_out_in_a_missing_folder_is_refused_and_nothing_is_written(
    tmp_path: Path, desk_env: tuple[dict[str, str], str], record_golden: bool
) -> None:
    env, account_id = desk_env
    unmounted = tmp_path / "media" / "usb"
    result = attest("review", "file", account_id, "1", "--out", str(unmounted / "v.ogg"), env=env)
    assert result.exit_code == 1
    assert "does not exist" in golden("out-missing-folder", result, tmp_path, record_golden)
    exported = attest(
        "review", "export", "--internal", "--out", str(unmounted / "all.json"), env=env
    )
    assert exported.exit_code == 1 and "does not exist" in exported.output
    assert not (tmp_path / "media").exists()
    audit = attest("review", "audit", "show", env=env).output
    assert "exported" not in audit and "file-decrypted" not in audit


def test_out_never_replaces_a_file_without_force(
    tmp_path: Path, desk_env: tuple[dict[str, str], str], record_golden: bool
) -> None:
    env, account_id = desk_env
    existing = tmp_path / "report.json"
    existing.write_text("the only copy of last week's report")
    result = attest("review", "file", account_id, "1", "--out", str(existing), env=env)
    assert result.exit_code == 1
    assert "--force" in golden("out-exists", result, tmp_path, record_golden)
    exported = attest("review", "export", "--internal", "--out", str(existing), env=env)
    assert exported.exit_code == 1 and "--force" in exported.output
    assert existing.read_text() == "the only copy of last week's report"

    forced = attest("review", "file", account_id, "1", "--out", str(existing), "--force", env=env)
    assert forced.exit_code == 0, forced.output
    assert existing.read_bytes() == VOICE
    again = attest("review", "export", "--internal", "--out", str(existing), "--force", env=env)
    assert again.exit_code == 0, again.output
    assert existing.read_text().startswith("{")


def test_ctrl_c_anywhere_is_one_line_and_status_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, desk_env: tuple[dict[str, str], str]
) -> None:
    import review.cli

    env, account_id = desk_env

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(review.cli, "_opened", interrupted)
    stopped = attest("review", "show", account_id, env=env)
    assert (stopped.exit_code, stopped.output) == (130, "Stopped.\n")
    # Ctrl-C at a passphrase prompt (click's Abort): the same line, the same status.
    monkeypatch.undo()
    del env["ATTEST_REVIEWER_PASSPHRASE"]

    def ctrl_c_at_the_prompt(*_args: object, **_kwargs: object) -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise click.exceptions.Abort() from None  # as click.prompt does

    with monkeypatch.context() as patched:
        patched.setattr(click, "prompt", ctrl_c_at_the_prompt)
        prompted = attest("review", "show", account_id, env=env)
    assert prompted.exit_code == 130
    assert prompted.output.strip().splitlines()[-1] == "Stopped."
    assert "Aborted!" not in prompted.output
    # The end of input there (Ctrl-D, an empty pipe) is not an interruption.
    ended = attest("review", "show", account_id, env=env, input="")
    assert ended.exit_code == 1
    assert ended.output.strip().splitlines()[-1] == "No passphrase given."
    assert "Aborted!" not in ended.output and "Stopped." not in ended.output


def test_ctrl_c_stops_sync_watch_with_status_130(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": str(tmp_path / "queue.db"),
    }
    attest_bin = str(Path(sys.executable).with_name("attest"))
    watcher = subprocess.Popen(
        [attest_bin, "sync", "--watch", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        watcher.stdout.readline()  # "Watching this node's outbox …": it has started
        time.sleep(0.2)
        watcher.send_signal(signal.SIGINT)
        _out, err = watcher.communicate(timeout=20)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 130
    assert err.strip().splitlines()[-1] == "Stopped."
    assert "Traceback" not in err and "Aborted!" not in err
