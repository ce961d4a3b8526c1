"""A damaged row in the reviewer queue: a clear message for that account, the others still listed."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from bot.cli_queue import queue, trust_node
from review.cli import review
from storage.crypto import NodeKeys
from storage.queue.admin import migrate_queue, open_queue
from tests.queue_support import (
    BACKENDS,
    PASSPHRASE,
    answer,
    fresh_queue_url,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)


def _desk(tmp_path: Path, url: str | None = None) -> tuple[dict[str, str], list[str]]:
    if url is None:
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


# A received time no reader can turn into a datetime: free text in SQLite's text column;
# on PostgreSQL a valid timestamp outside Python's range, which psycopg cannot load.
DAMAGED_TIME = {"sqlite": "not a date", "postgres": "infinity"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def queue_url(backend: str, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(backend, tmp_path)


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


def test_bidi_controls_in_an_answer_or_a_note_cannot_reorder_the_reviewers_lines(
    tmp_path: Path, queue_url: str
) -> None:
    node = NodeKeys.generate()
    # Drawn right to left after U+202E, "deifirev :tnuocca" reads as "account: verified".
    forged = "My answer. \u202edeifirev :tnuocca\u202c \u2066\u200f\u061c"
    item = make_account(
        node, [reviewer("a")], answers=[answer("what-happened", "What happened?", forged)]
    )
    put_accounts(queue_url, node, [item])
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": queue_url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
    account = item.sealed.account_id
    noted = _run(env, "triage", account, "--note", "Called back. \u202edeifirev")
    assert noted.exit_code == 0, noted.output
    shown = _run(env, "show", account)
    assert shown.exit_code == 0, shown.output
    for raw in ("\u202e", "\u202c", "\u2066", "\u200f", "\u061c"):
        assert raw not in shown.output
    assert "My answer. \\u202edeifirev :tnuocca\\u202c \\u2066\\u200f\\u061c" in shown.output
    assert "Called back. \\u202edeifirev" in shown.output


HOSTILE = "\x1b[2J\x1b]0;owned\x07\nfake-row  verified\x9b31m \u202edeifirev"


def _assert_escaped(output: str) -> None:
    for raw in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert raw not in output
    assert "\\x1b[2J" in output and "\\x0afake-row" in output  # visible, on the same row
    assert "\\u202edeifirev" in output
    assert not any(line.startswith("fake-row") for line in output.splitlines())


def test_export_onto_an_existing_readable_file_leaves_it_owner_only(tmp_path: Path) -> None:
    env, _ids = _desk(tmp_path)
    existing = tmp_path / "export.json"
    existing.write_text("old")
    existing.chmod(0o644)
    fresh = tmp_path / "fresh.csv"
    for out, fmt in ((existing, "json"), (fresh, "csv")):
        # --force: issue 16 replaces an existing file only when asked.
        result = _run(env, "export", "--internal", "--format", fmt, "--out", str(out), "--force")
        assert result.exit_code == 0, result.output
        assert out.stat().st_mode & 0o777 == 0o600, out
    assert existing.read_text().startswith("{")
    assert "account_id" in fresh.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")) == []


def test_a_damaged_received_time_is_listed_with_a_placeholder(
    tmp_path: Path, backend: str, queue_url: str
) -> None:
    env, (damaged, intact) = _desk(tmp_path, queue_url)
    _damage(env, damaged, "received_at", DAMAGED_TIME[backend])
    listed = _run(env, "list")
    assert listed.exit_code == 0, listed.output
    # Issue 16: a header row and a "showing N of M" line around the rows, and the time
    # shown is the submission time (intact here); the damaged receipt time is None below.
    rows = {line.split()[0]: line for line in listed.output.splitlines()[1:-1]}
    assert set(rows) == {damaged, intact}
    assert "UTC" in rows[intact]
    as_json = _run(env, "list", "--json")
    assert as_json.exit_code == 0, as_json.output
    times = {a["id"]: a["received_at"] for a in json.loads(as_json.output)}
    assert times[damaged] is None and times[intact] is not None


def test_control_characters_in_stored_columns_are_escaped_in_the_list(tmp_path: Path) -> None:
    env, (damaged, _intact) = _desk(tmp_path)
    _damage(env, damaged, "flow", HOSTILE)
    listed = _run(env, "list")
    assert listed.exit_code == 0, listed.output
    _assert_escaped(listed.output)
    # one row per account, still (issue 16: between a header and a "showing N of M" line)
    assert len(listed.output.splitlines()) == 4


def test_control_characters_in_the_audit_log_are_escaped(tmp_path: Path) -> None:
    env, (account, _intact) = _desk(tmp_path)
    assert _run(env, "list").exit_code == 0  # logs the receipts
    engine = open_queue(env["ATTEST_QUEUE_URL"])
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET actor = :v WHERE account_id = :id"),
            {"v": HOSTILE, "id": account},
        )
    engine.dispose()
    for args in (("audit", "show"), ("audit", "show", account)):
        shown = _run(env, *args)
        assert shown.exit_code == 0, shown.output
        _assert_escaped(shown.output)


def test_a_damaged_received_time_still_opens_claims_and_exports(
    tmp_path: Path, backend: str, queue_url: str
) -> None:
    env, (damaged, intact) = _desk(tmp_path, queue_url)
    _damage(env, damaged, "received_at", DAMAGED_TIME[backend])
    shown = _run(env, "show", damaged)
    assert shown.exit_code == 0, shown.output
    assert "Received — · submitted" in shown.output
    assert "They closed the school for girls." in shown.output
    claimed = {_run(env, "claim").output.strip() for _ in range(2)}
    assert claimed == {damaged, intact}
    noted = _run(env, "triage", damaged, "--note", "checked", "--add-tag", "seen")
    assert noted.exit_code == 0, noted.output
    assert _run(env, "release", damaged).exit_code == 0
    out = tmp_path / "export.json"
    exported = _run(env, "export", "--internal", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    times = {a["account_id"]: a["received_at"] for a in json.loads(out.read_text())["accounts"]}
    assert times[damaged] is None and times[intact] is not None
    as_csv = _run(env, "export", "--internal", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    assert damaged in as_csv.output


def test_a_newly_synced_account_with_a_damaged_received_time_stops_no_command(
    tmp_path: Path, backend: str, queue_url: str
) -> None:
    env, (damaged, intact) = _desk(tmp_path, queue_url)
    engine = open_queue(env["ATTEST_QUEUE_URL"])
    with engine.begin() as conn:  # as a node would insert it: its receipt not logged yet
        conn.execute(
            text("UPDATE accounts SET received_at = :v, receipt_logged = false WHERE id = :id"),
            {"v": DAMAGED_TIME[backend], "id": damaged},
        )
    engine.dispose()
    listed = _run(env, "list")
    assert listed.exit_code == 0, listed.output
    assert damaged in listed.output and intact in listed.output
    audit = _run(env, "audit", "show", damaged)
    assert audit.exit_code == 0, audit.output
    assert audit.output.count("received") == 2  # logged once on arrival, once now


def test_damaged_submitted_and_updated_times_stop_no_listing_and_no_other_account(
    tmp_path: Path, backend: str, queue_url: str
) -> None:
    env, (damaged, intact) = _desk(tmp_path, queue_url)
    for column in ("submitted_at", "updated_at"):
        _damage(env, damaged, column, DAMAGED_TIME[backend])
    listed = _run(env, "list")
    assert listed.exit_code == 0, listed.output
    assert damaged in listed.output and intact in listed.output
    as_json = _run(env, "list", "--json")
    assert as_json.exit_code == 0, as_json.output
    submitted = {i["id"]: i["submitted_at"] for i in json.loads(as_json.output)}
    assert submitted[damaged] is None and submitted[intact] is not None
    # The column no longer matches what the node signed: refused by name, not a crash.
    shown = _run(env, "show", damaged)
    assert shown.exit_code == 1
    assert "submitted_at" in shown.output and "Traceback" not in shown.output
    assert _run(env, "show", intact).exit_code == 0
    assert _run(env, "triage", damaged, "--add-tag", "seen").exit_code == 0


def test_a_damaged_lease_counts_as_no_lease(tmp_path: Path, backend: str, queue_url: str) -> None:
    env, (damaged, intact) = _desk(tmp_path, queue_url)
    _damage(env, damaged, "status", "in-review")
    _damage(env, damaged, "assignee", "someone-else")
    _damage(env, damaged, "lease_until", DAMAGED_TIME[backend])
    listed = _run(env, "list")
    assert listed.exit_code == 0, listed.output
    assert damaged in listed.output and intact in listed.output
    shown = _run(env, "show", damaged)
    assert shown.exit_code == 0, shown.output
    assert "Status: in-review · reviewer someone-else" in shown.output
    assert "held until" not in shown.output
    noted = _run(env, "triage", damaged, "--add-tag", "seen")
    assert noted.exit_code == 0, noted.output  # not "another reviewer holds this account"
    claimed = {_run(env, "claim").output.strip() for _ in range(2)}
    assert claimed == {damaged, intact}


def test_a_damaged_withdrawal_time_still_hides_the_account_and_stops_nothing_else(
    tmp_path: Path, backend: str, queue_url: str
) -> None:
    env, (damaged, intact) = _desk(tmp_path, queue_url)
    _damage(env, damaged, "withdrawn_at", DAMAGED_TIME[backend])
    listed = _run(env, "list")
    assert listed.exit_code == 0, listed.output
    assert intact in listed.output and damaged not in listed.output
    shown = _run(env, "show", damaged)
    assert shown.exit_code == 1
    assert "withdrawn" in shown.output and "Traceback" not in shown.output
    assert _run(env, "show", intact).exit_code == 0
    assert _run(env, "claim").output.strip() == intact
    assert _run(env, "audit", "show", damaged).exit_code == 0


def test_a_damaged_note_time_is_shown_with_a_placeholder(
    tmp_path: Path, backend: str, queue_url: str
) -> None:
    env, (account, _other) = _desk(tmp_path, queue_url)
    assert _run(env, "triage", account, "--note", "Called back.").exit_code == 0
    engine = open_queue(env["ATTEST_QUEUE_URL"])
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE account_notes SET created_at = :v WHERE account_id = :id"),
            {"v": DAMAGED_TIME[backend], "id": account},
        )
    engine.dispose()
    shown = _run(env, "show", account)
    assert shown.exit_code == 0, shown.output
    assert "  — · " in shown.output and "Called back." in shown.output


def test_a_field_kit_with_damaged_times_imports_every_account_and_request(
    tmp_path: Path, queue_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    kit = str(tmp_path / "kit.db")
    engine = open_queue(kit)
    migrate_queue(engine)
    engine.dispose()
    node = NodeKeys.generate()
    items = [make_account(node, [reviewer("a")], reference=f"REF{r}") for r in ("a", "b", "gone")]
    put_accounts(kit, node, items)
    late, early, withdrawn = (i.sealed.account_id for i in items)
    engine = open_queue(kit)
    with engine.begin() as conn:  # damaged on the kit or on the way; SQLite keeps any text
        for column, account in (("received_at", late), ("submitted_at", early)):
            conn.execute(
                text(f"UPDATE accounts SET {column} = 'not a date' WHERE id = :id"),
                {"id": account},
            )
        conn.execute(
            text("INSERT INTO withdrawals (secret, requested_at) VALUES (:secret, 'not a date')"),
            {"secret": node.withdrawal_secret("REFgone")},
        )
    engine.dispose()
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": queue_url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    with caplog.at_level(logging.WARNING, logger="storage.queue.kit_import"):
        imported = CliRunner().invoke(queue, ["import", kit], env=env)
    assert imported.exit_code == 0, imported.output
    assert "Read 3 accounts and 1 withdrawal requests; 3 new, 1 withdrawn." in imported.output
    assert "3 row(s) had a damaged time" in caplog.text
    assert "3 rows had a damaged date or time" in imported.output  # told, not only logged
    assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
    listed = _run(env, "list")
    assert listed.exit_code == 0, listed.output
    assert late in listed.output and early in listed.output and withdrawn not in listed.output
    # Received when this queue received it; submitted_at again as the node signed it.
    for account in (late, early):
        shown = _run(env, "show", account)
        assert shown.exit_code == 0, shown.output
        assert "Received — " not in shown.output and "submitted —" not in shown.output
    assert "withdrawn" in _run(env, "show", withdrawn).output
    again = CliRunner().invoke(queue, ["import", kit], env=env)
    assert again.exit_code == 0 and "0 new" in again.output


def test_line_and_paragraph_separators_cannot_fake_a_row(
    tmp_path: Path, backend: str, queue_url: str
) -> None:
    env, (account, other) = _desk(tmp_path, queue_url)
    tag = "ok\u2028" + other + "  new  -  fake/row\u2029fake-para"
    # Since issue 16 triage refuses such a tag; one stored by an older version (or written
    # straight into the table) is still shown escaped.
    assert _run(env, "triage", account, "--add-tag", tag).exit_code == 1
    engine = open_queue(env["ATTEST_QUEUE_URL"])
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO account_tags (account_id, tag) VALUES (:id, :tag)"),
            {"id": account, "tag": tag},
        )
    engine.dispose()
    for args in (("list",), ("show", account)):
        shown = _run(env, *args)
        assert shown.exit_code == 0, shown.output
        assert "\u2028" not in shown.output and "\u2029" not in shown.output
        assert not any(
            line.startswith(("fake-para", other + "  new  -  fake"))
            for line in shown.output.splitlines()
        )
    assert "ok\\u2028" in _run(env, "list").output
    assert "\\u2029fake-para" in _run(env, "show", account).output


def test_claim_prints_a_stored_account_id_escaped(
    tmp_path: Path, backend: str, queue_url: str
) -> None:
    env, (account, other) = _desk(tmp_path, queue_url)
    _damage(env, other, "status", "closed")
    _damage(env, account, "id", "forged\u2028Nothing to claim")
    claimed = _run(env, "claim")
    assert claimed.exit_code == 0, claimed.output
    assert claimed.output.splitlines() == ["forged\\u2028Nothing to claim"]
