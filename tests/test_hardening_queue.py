"""A damaged row in the reviewer queue: a clear message for that account, the others still listed."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import text

from bot.cli_queue import trust_node
from review.cli import review
from storage.crypto import NodeKeys
from storage.queue_admin import migrate_queue, open_queue
from tests.queue_support import (
    PASSPHRASE,
    answer,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)


def _desk(tmp_path: Path) -> tuple[dict[str, str], list[str]]:
    url = str(tmp_path / "queue.db")
    engine = open_queue(url)
    migrate_queue(engine)
    engine.dispose()
    node = NodeKeys.generate()
    items = [make_account(node, [reviewer("a")]), make_account(node, [reviewer("a")])]
    put_accounts(url, node, items)
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    trusted = CliRunner().invoke(trust_node, [node.fingerprint], env=env)
    assert trusted.exit_code == 0, trusted.output
    return env, [i.sealed.account_id for i in items]


def _damage(env: dict[str, str], account_id: str, column: str, value: str) -> None:
    engine = open_queue(env["ATTEST_QUEUE_URL"])
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE accounts SET {column} = :v WHERE id = :id"),
            {"v": value, "id": account_id},
        )
    engine.dispose()


def _run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(review, list(args), env=env)


def test_a_damaged_sealed_record_is_refused_by_name_not_with_a_traceback(tmp_path: Path) -> None:
    env, (damaged, intact) = _desk(tmp_path)
    _damage(env, damaged, "sealed", "{not json")
    shown = _run(env, "show", damaged)
    assert shown.exit_code == 1
    assert not isinstance(shown.exception, ValueError)  # a message, not a crash
    assert "damaged" in shown.output
    assert _run(env, "show", intact).exit_code == 0
    exported = _run(env, "export", "--internal", "--out", str(tmp_path / "out.json"))
    assert exported.exit_code == 1
    assert not isinstance(exported.exception, ValueError)
    assert "damaged" in exported.output


def test_damaged_plaintext_scopes_do_not_hide_every_other_account(tmp_path: Path) -> None:
    env, (damaged, intact) = _desk(tmp_path)
    _damage(env, damaged, "scopes", "not json")
    listed = _run(env, "list")
    assert listed.exit_code == 0, listed.output
    assert damaged in listed.output and intact in listed.output
    # The damaged column no longer matches what the node signed: not shown as verified.
    shown = _run(env, "show", damaged)
    assert shown.exit_code == 1
    assert "scopes" in shown.output
    assert _run(env, "show", intact).exit_code == 0


def test_control_characters_in_an_answer_cannot_drive_the_reviewers_terminal(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "queue.db")
    engine = open_queue(url)
    migrate_queue(engine)
    engine.dispose()
    node = NodeKeys.generate()
    # Clear the screen, retitle the window, then a fake verification line: typed by anyone.
    hostile = "\x1b[2J\x1b]0;owned\x07Verified: all good\x9b31m"
    item = make_account(
        node, [reviewer("a")], answers=[answer("what-happened", "What happened?", hostile)]
    )
    put_accounts(url, node, [item])
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
    shown = _run(env, "show", item.sealed.account_id)
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.output and "\x07" not in shown.output and "\x9b" not in shown.output
    assert "Verified: all good" in shown.output  # the text itself is still all there
    assert "\\x1b" in shown.output  # and the control characters are visible as such
