"""Long work shows progress (issue 16): a moving count on a terminal, nothing in a log.

`attest sync`, `queue import` and `review export` redraw one line on standard error when
it is a terminal; `sync --watch` prints a timestamped line only when something moved; the
"receipts and withdrawals will be applied…" line appears only when there are some.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.cli_queue import _sync_once
from storage.crypto import NodeKeys
from tests.queue_support import PASSPHRASE, PG_URL, fresh_queue_url, pg_role, save_reviewer
from tests.test_sync import fill_outbox


def _sync(env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["sync"], env=env)


@pytest.fixture
def node_env(tmp_path: Path) -> tuple[dict[str, str], NodeKeys]:
    data = tmp_path / "data"
    data.mkdir()
    node = NodeKeys.load_or_create(data / "node.key")
    env = {"ATTEST_DATA_DIR": str(data), "ATTEST_QUEUE_URL": str(tmp_path / "queue.db")}
    return env, node


def _terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("review.progress.stderr_is_terminal", lambda: True)


def test_sync_is_silent_about_progress_off_a_terminal(
    node_env: tuple[dict[str, str], NodeKeys],
) -> None:
    env, node = node_env
    fill_outbox(Path(env["ATTEST_DATA_DIR"]), node, 2)
    result = _sync(env)
    assert result.exit_code == 0, result.output
    assert "Synced" not in result.output and "\r" not in result.output
    assert "Sync done: 2 accounts" in result.output


def test_sync_import_and_export_show_a_moving_count_on_a_terminal(
    tmp_path: Path, node_env: tuple[dict[str, str], NodeKeys], monkeypatch: pytest.MonkeyPatch
) -> None:
    _terminal(monkeypatch)
    env, node = node_env
    fill_outbox(Path(env["ATTEST_DATA_DIR"]), node, 3)
    synced = _sync(env)
    assert synced.exit_code == 0, synced.output
    assert "\rSynced 3/3 accounts" in synced.output
    # The kit just filled is imported into a second queue.
    target = next(fresh_queue_url("sqlite", tmp_path))
    imported = CliRunner().invoke(
        main, ["queue", "import", env["ATTEST_QUEUE_URL"]], env={**env, "ATTEST_QUEUE_URL": target}
    )
    assert imported.exit_code == 0, imported.output
    assert re.search(r"\rImported 3/3 accounts", imported.output)
    reviewer_env = {
        **env,
        "ATTEST_QUEUE_URL": target,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    assert CliRunner().invoke(main, ["keys", "trust-node", node.fingerprint], env=reviewer_env)
    exported = CliRunner().invoke(
        main,
        ["review", "export", "--internal", "--out", str(tmp_path / "all.json")],
        env=reviewer_env,
    )
    assert exported.exit_code == 0, exported.output
    assert "\rRead 3/3 accounts" in exported.output


def test_watch_prints_a_timestamped_line_only_when_something_moved(
    node_env: tuple[dict[str, str], NodeKeys], capsys: pytest.CaptureFixture[str]
) -> None:
    env, node = node_env
    data = Path(env["ATTEST_DATA_DIR"])
    _sync_once(data, None, env["ATTEST_QUEUE_URL"], False, watching=True)
    assert capsys.readouterr().out == ""  # no intake store yet: nothing moved, nothing said
    fill_outbox(data, node, 2)
    _sync_once(data, None, env["ATTEST_QUEUE_URL"], False, watching=True)
    moved = capsys.readouterr().out
    assert re.match(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\] Sync done: 2 accounts", moved)
    _sync_once(data, None, env["ATTEST_QUEUE_URL"], False, watching=True)
    assert capsys.readouterr().out == ""


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
def test_the_applied_later_line_only_when_there_is_something_to_apply(
    tmp_path: Path, node_env: tuple[dict[str, str], NodeKeys]
) -> None:
    env, node = node_env
    for url in fresh_queue_url("postgres", tmp_path):
        with pg_role(url, "node") as node_url:
            node_only = {**env, "ATTEST_QUEUE_URL": node_url}
            fill_outbox(Path(env["ATTEST_DATA_DIR"]), node, 1)
            first = _sync(node_only)
            assert first.exit_code == 0, first.output
            assert "will be applied by the next reviewer command" in first.output
            again = _sync(node_only)
            assert again.exit_code == 0, again.output
            assert "Sync done: 0 accounts" in again.output
            assert "will be applied" not in again.output
