"""The audit log: every action chained; edits, deletions and a cut-off end are found."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from bot.cli_queue import trust_node
from review.cli import review
from storage.crypto import NodeKeys
from storage.queue.admin import open_queue
from storage.queue.audit import entry_hash, verify_chain
from tests.queue_support import (
    BACKENDS,
    PASSPHRASE,
    fresh_queue_url,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    for url in fresh_queue_url(request.param, tmp_path):
        node = NodeKeys.generate()
        items = [make_account(node, [reviewer("a")]) for _ in range(3)]
        put_accounts(url, node, items)
        environment = {
            "ATTEST_DATA_DIR": str(tmp_path / "data"),
            "ATTEST_QUEUE_URL": url,
            "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        assert CliRunner().invoke(trust_node, [node.fingerprint], env=environment).exit_code == 0
        # Some history: opened, claimed, changed.
        for item in items:
            assert run(environment, "show", item.sealed.account_id).exit_code == 0
        assert run(environment, "claim").exit_code == 0
        assert (
            run(environment, "triage", items[2].sealed.account_id, "--add-tag", "x").exit_code == 0
        )
        yield environment


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(review, list(args), env=env)


def sql(env: dict[str, str], statement: str) -> None:
    engine = open_queue(env["ATTEST_QUEUE_URL"])
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_an_untouched_log_verifies(env: dict[str, str]) -> None:
    result = run(env, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "intact: 8 entries" in result.output  # 3 received, 3 opened, claimed, changed


def test_an_edited_entry_is_found(env: dict[str, str]) -> None:
    sql(env, "UPDATE audit_log SET action = 'received' WHERE seq = 4")
    result = run(env, "audit", "verify")
    assert result.exit_code == 2
    assert "entry 4: This entry was changed after it was written." in result.output


def test_a_deleted_entry_is_found(env: dict[str, str]) -> None:
    sql(env, "DELETE FROM audit_log WHERE seq = 5")
    result = run(env, "audit", "verify")
    assert result.exit_code == 2
    assert "entry 6: Entries are missing before this one" in result.output


def test_entries_cut_off_at_the_end_are_found_by_the_witness(env: dict[str, str]) -> None:
    sql(env, "DELETE FROM audit_log WHERE seq >= 7")
    result = run(env, "audit", "verify")
    assert result.exit_code == 2
    assert "entry 8: Entries you saw earlier are gone" in result.output
    # A later command must not overwrite the evidence with the cut chain's new end.
    assert "audit log changed since this machine last saw it" in run(env, "list").output
    assert run(env, "audit", "verify").exit_code == 2


def test_a_consistently_rewritten_end_is_found_by_the_witness(env: dict[str, str]) -> None:
    """An attacker who recomputes the hash of the last entry still cannot match the witness."""
    engine = open_queue(env["ATTEST_QUEUE_URL"])
    with engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_log WHERE seq = 8")).one()
        forged = entry_hash(
            row.seq, row.at, row.actor, "opened", row.account_id, row.detail, row.prev_hash
        )
        conn.execute(
            text("UPDATE audit_log SET action = 'opened', hash = :h WHERE seq = 8"), {"h": forged}
        )
        assert verify_chain(conn).ok  # the chain alone is consistent again ...
    engine.dispose()
    result = run(env, "audit", "verify")  # ... but this machine saw the original end
    assert result.exit_code == 2
    assert "entry 8: An entry you saw earlier was rewritten since." in result.output


def test_the_log_shows_who_did_what_to_an_account(env: dict[str, str]) -> None:
    engine = open_queue(env["ATTEST_QUEUE_URL"])
    with engine.connect() as conn:
        account = conn.execute(
            text("SELECT account_id FROM audit_log WHERE action = 'changed'")
        ).scalar_one()
    engine.dispose()
    result = run(env, "audit", "show", account)
    assert result.exit_code == 0, result.output
    actions = [line.split()[3] for line in result.output.strip().splitlines()]
    # (It may also have been the one claimed: the claim takes the oldest of equals by id.)
    assert actions[:2] == ["received", "opened"] and actions[-1] == "changed"
    # How many tags changed, never which: the log outlives a withdrawal, the tags do not.
    assert '{"tags_added": 1}' in result.output
    newest = run(env, "audit", "show", "--limit", "2").output.strip().splitlines()
    assert [line.split()[0] for line in newest] == ["7", "8"]


def test_a_queue_whose_identity_was_swapped_is_found(env: dict[str, str]) -> None:
    """Changing the queue id to look like a queue never seen before does not hide a cut."""
    sql(env, "DELETE FROM audit_log WHERE seq >= 7")
    sql(env, "UPDATE queue_info SET queue_id = 'ffffffffffffffffffffffffffffffff'")
    result = run(env, "audit", "verify")
    assert result.exit_code == 2
    assert "identity changed" in result.output
