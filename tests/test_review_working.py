"""Working the queue from the command line (issue 16): list, id prefixes, tags, owners.

The listing is compared with `tests/golden/cli/errors.txt` (ids, times and the node's
fingerprint written as placeholders), like the operator errors.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from storage.crypto import NodeKeys
from storage.queue.admin import open_queue
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
from tests.test_operator_errors import golden

DAY = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


@dataclass
class Queue4:
    """Four accounts: ids[0..3], with submission days and languages set per test."""

    url: str
    env: dict[str, str]
    ids: list[str]
    node: NodeKeys
    tmp: Path

    def run(self, *args: str, env: dict[str, str] | None = None, **kw: object) -> Result:
        return CliRunner().invoke(main, list(args), env={**self.env, **(env or {})}, **kw)  # type: ignore[arg-type]

    def sql(self, statement: str, **params: object) -> None:
        from sqlalchemy import text

        engine = open_queue(self.url)
        with engine.begin() as conn:
            conn.execute(text(statement), params)
        engine.dispose()

    def as_other(self) -> dict[str, str]:
        path = self.tmp / "b" / "reviewer.key"
        if not path.exists():
            save_reviewer(path, "b")
        return {"ATTEST_REVIEWER_KEY": str(path)}


@pytest.fixture(params=BACKENDS)
def q4(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Queue4]:
    for url in fresh_queue_url(request.param, tmp_path):
        node = NodeKeys.generate()
        items = [make_account(node, [reviewer("a"), reviewer("b")]) for _ in range(4)]
        put_accounts(url, node, items)
        env = {
            "ATTEST_DATA_DIR": str(tmp_path / "data"),
            "ATTEST_QUEUE_URL": url,
            "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        q = Queue4(url, env, [i.sealed.account_id for i in items], node, tmp_path)
        assert q.run("keys", "trust-node", node.fingerprint).exit_code == 0
        yield q


def _rows(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [line.split()[0] for line in result.output.splitlines()[1:-1]]


def test_list_has_a_header_aligned_columns_and_n_of_m(q4: Queue4, record_golden: bool) -> None:
    for n, account in enumerate(q4.ids):
        q4.sql(
            "UPDATE accounts SET submitted_at = :t WHERE id = :id",
            t=DAY + timedelta(hours=n),
            id=account,
        )
    q4.sql("UPDATE accounts SET urgent = true WHERE id = :id", id=q4.ids[3])
    listed = q4.run("review", "list", "--limit", "3")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    header = lines[0]
    assert header.split() == ["ID", "SUBMITTED", "STATUS", "HOLDER", "FLOW/LANG", "TAGS", "FLAGS"]
    # Aligned: every column starts where its header does.
    for column in ("SUBMITTED", "STATUS", "FLOW/LANG"):
        at = header.index(column)
        assert all(line[at - 2 : at] == "  " and line[at] != " " for line in lines[1:-1])
    assert lines[-1] == "Showing 3 of 4 accounts."
    text = listed.output
    for n, account in enumerate(q4.ids):
        text = text.replace(account, f"<id{n}>".ljust(len(account), "_"))
    if "postgres" in q4.url:
        return  # one golden text: SQLite's
    golden("review-list", _plain(listed, text), q4.tmp, record_golden)


def _plain(result: Result, text: str) -> Result:
    class Shown:
        output = text
        exit_code = result.exit_code

    return Shown()  # type: ignore[return-value]


def test_urgent_first_then_by_submission_time_and_claim_takes_that_one(q4: Queue4) -> None:
    # Synced in one order, sent in the reverse one: the earliest sent comes first.
    for n, account in enumerate(q4.ids):
        q4.sql(
            "UPDATE accounts SET submitted_at = :t, received_at = :r WHERE id = :id",
            t=DAY - timedelta(hours=n),
            r=DAY + timedelta(days=1, hours=n),
            id=account,
        )
    q4.sql("UPDATE accounts SET urgent = true WHERE id IN (:a, :b)", a=q4.ids[0], b=q4.ids[1])
    expected = [q4.ids[1], q4.ids[0], q4.ids[3], q4.ids[2]]
    assert _rows(q4.run("review", "list")) == expected
    claimed = q4.run("review", "claim")
    assert claimed.output.strip() == q4.ids[1]


def test_closed_are_hidden_unless_all_or_status_closed(q4: Queue4) -> None:
    assert q4.run("review", "triage", q4.ids[0], "--status", "closed").exit_code == 0
    listed = q4.run("review", "list")
    assert q4.ids[0] not in _rows(listed)
    assert "Showing 3 of 3 accounts. Closed accounts are hidden (--all shows them)." in (
        listed.output
    )
    assert q4.ids[0] in _rows(q4.run("review", "list", "--all"))
    assert _rows(q4.run("review", "list", "--status", "closed")) == [q4.ids[0]]


def test_mine_since_until_and_language(q4: Queue4) -> None:
    for n, account in enumerate(q4.ids):
        q4.sql(
            "UPDATE accounts SET submitted_at = :t, language = :lang WHERE id = :id",
            t=DAY + timedelta(days=n),
            lang="ar" if n % 2 else "en",
            id=account,
        )
    claimed = q4.run("review", "claim").output.strip()
    assert _rows(q4.run("review", "list", "--mine")) == [claimed]
    assert _rows(q4.run("review", "list", "--mine", env=q4.as_other())) == []
    assert _rows(q4.run("review", "list", "--since", "2026-11-04")) == q4.ids[1:]
    assert _rows(q4.run("review", "list", "--until", "2026-11-04")) == q4.ids[:2]
    window = q4.run("review", "list", "--since", "2026-11-04", "--until", "2026-11-05")
    assert _rows(window) == q4.ids[1:3]
    assert _rows(q4.run("review", "list", "--language", "ar")) == [q4.ids[1], q4.ids[3]]
    assert q4.run("review", "list", "--since", "last week").exit_code == 2


def test_a_unique_prefix_of_six_or_more_is_an_account_id(q4: Queue4, record_golden: bool) -> None:
    account = q4.ids[0]
    prefix = account[:6]
    # Make sure no other id shares it (random ids rarely do; this keeps the test exact).
    assert sum(i.startswith(prefix) for i in q4.ids) == 1
    shown = q4.run("review", "show", prefix)
    assert shown.exit_code == 0, shown.output and f"Account {account}" in shown.output
    assert q4.run("review", "triage", account[:8], "--add-tag", "medical").exit_code == 0
    trail = q4.run("review", "audit", "show", prefix).output
    assert '"tags_added": 1' in trail and "medical" not in trail  # the log never names a tag
    out = q4.tmp / "none.bin"
    assert "no attached files" in q4.run("review", "file", prefix, "1", "--out", str(out)).output
    short = q4.run("review", "show", account[:5])
    assert short.exit_code == 1
    assert "at least 6 characters" in golden("id-too-short", short, q4.tmp, record_golden)
    unknown = q4.run("review", "show", "zzzzzzzz")
    assert unknown.exit_code == 1 and "no account with that id" in unknown.output
    # Two ids that share a start: the prefix is refused as ambiguous.
    twin = account[:10] + "0" * (len(account) - 10)
    q4.sql(
        "INSERT INTO accounts (id, received_at, urgent, status, receipt_logged, sealed) "
        "VALUES (:id, :t, false, 'closed', true, NULL)",
        id=twin,
        t=DAY,
    )
    ambiguous = q4.run("review", "release", account[:8])
    assert ambiguous.exit_code == 1
    assert "More than one" in golden("id-ambiguous", ambiguous, q4.tmp, record_golden)


@pytest.mark.parametrize(
    "bad", ["", " ", "a,b", "two words", "x" * 33, "semi;colon", "tab\there", "-\u0301"]
)
def test_tags_outside_letters_digits_dash_underscore_are_refused(q4: Queue4, bad: str) -> None:
    result = q4.run("review", "triage", q4.ids[0], "--add-tag", bad)
    assert result.exit_code == 1, result.output
    assert "A tag is 1 to 32 letters" in result.output
    assert q4.run("review", "list", "--json").output.count('"tags": []') == 4


def test_tags_in_any_script_and_the_filter_matches_what_was_stored(
    q4: Queue4, record_golden: bool
) -> None:
    for tag in ("طبي", "медичне", "follow_up-2", "x" * 32, "नमस्ते"):
        result = q4.run("review", "triage", q4.ids[0], "--add-tag", tag)
        assert result.exit_code == 0, (tag, result.output)
    # Typed decomposed (e + combining acute), stored and found composed, either way.
    decomposed = unicodedata.normalize("NFD", "médical")
    assert q4.run("review", "triage", q4.ids[1], "--add-tag", decomposed).exit_code == 0
    assert _rows(q4.run("review", "list", "--tag", "médical")) == [q4.ids[1]]
    assert _rows(q4.run("review", "list", "--tag", decomposed)) == [q4.ids[1]]
    assert _rows(q4.run("review", "list", "--tag", "طبي")) == [q4.ids[0]]
    refused = q4.run("review", "triage", q4.ids[0], "--add-tag", "a,b")
    golden("tag-refused", refused, q4.tmp, record_golden)
    bad_filter = q4.run("review", "list", "--tag", "a b")
    assert bad_filter.exit_code == 1 and "A tag is 1 to 32 letters" in bad_filter.output


def test_the_holder_of_a_withdrawn_account_is_told_once(q4: Queue4, record_golden: bool) -> None:
    from storage.crypto import withdrawal_hash

    claimed = q4.run("review", "claim").output.strip()
    # The person withdraws: a request whose secret hashes to the account's hash.
    q4.sql(
        "UPDATE accounts SET withdrawal_hash = :h WHERE id = :id",
        h=withdrawal_hash("secret-1"),
        id=claimed,
    )
    q4.sql("INSERT INTO withdrawals (secret, requested_at) VALUES ('secret-1', :t)", t=DAY)
    other = q4.run("review", "list", env=q4.as_other())  # applies it
    assert other.exit_code == 0 and "which you held" not in other.output
    told = q4.run("review", "list")
    assert told.exit_code == 0
    assert f"Account {claimed}, which you held, was withdrawn" in told.output
    assert "which you held" not in q4.run("review", "list").output  # once


def test_follow_up_keeps_its_owner(q4: Queue4) -> None:
    claimed = q4.run("review", "claim").output.strip()
    assert q4.run("review", "triage", claimed, "--status", "follow-up").exit_code == 0
    item = _json_item(q4, claimed)
    assert (item["status"], item["assignee"] is not None) == ("follow-up", True)
    closed = q4.run("review", "triage", claimed, "--status", "closed", env=q4.as_other())
    assert closed.exit_code == 1 and "Another reviewer holds" in closed.output
    assert q4.run("review", "release", claimed).exit_code == 0
    assert _json_item(q4, claimed)["assignee"] is None
    taken = q4.run("review", "triage", claimed, "--status", "closed", env=q4.as_other())
    assert taken.exit_code == 0, taken.output


def _audit_detail(q4: Queue4, account: str, action: str) -> list[dict[str, object]]:
    import json

    from sqlalchemy import select

    from storage.queue.tables import audit_log

    engine = open_queue(q4.url)
    with engine.connect() as conn:
        details = [
            json.loads(d)
            for d in conn.execute(
                select(audit_log.c.detail)
                .where(audit_log.c.account_id == account, audit_log.c.action == action)
                .order_by(audit_log.c.seq)
            ).scalars()
        ]
    engine.dispose()
    return details


def test_release_keeps_a_follow_up_and_says_which_status_it_keeps(q4: Queue4) -> None:
    """A survivor marked for follow-up must not drop back to `new` when its owner lets go."""
    claimed = q4.run("review", "claim").output.strip()
    assert q4.run("review", "triage", claimed, "--status", "follow-up").exit_code == 0
    released = q4.run("review", "release", claimed)
    assert released.exit_code == 0, released.output
    assert "follow-up" in released.output, released.output
    item = _json_item(q4, claimed)
    assert (item["status"], item["assignee"]) == ("follow-up", None)
    assert _audit_detail(q4, claimed, "released") == [{}]
    # A claim that is released ends its review: back to new, and the entry says so.
    other = q4.run("review", "claim").output.strip()
    back = q4.run("review", "release", other)
    assert back.exit_code == 0 and "new" in back.output, back.output
    assert _json_item(q4, other)["status"] == "new"
    assert _audit_detail(q4, other, "released") == [{"status": ["in-review", "new"]}]
    # Another status its owner set (referred) is kept too, and the chain still verifies.
    third = q4.run("review", "claim").output.strip()
    assert q4.run("review", "triage", third, "--status", "referred").exit_code == 0
    kept = q4.run("review", "release", third)
    assert kept.exit_code == 0 and "referred" in kept.output, kept.output
    assert (_json_item(q4, third)["status"], _json_item(q4, third)["assignee"]) == (
        "referred",
        None,
    )
    assert q4.run("review", "release", third).exit_code == 1  # no longer held
    verified = q4.run("review", "audit", "verify")
    assert verified.exit_code == 0, verified.output


def _json_item(q4: Queue4, account: str) -> dict[str, object]:
    import json

    listed = json.loads(q4.run("review", "list", "--json", "--all").output)
    return next(a for a in listed if a["id"] == account)


def test_claim_release_tags_and_status_need_no_passphrase_and_are_signed(q4: Queue4) -> None:
    """Issue 16: these change no sealed data, so they ask for no passphrase. Issue 15: every
    audit entry is signed by its actor. Both hold: they are signed with the reviewer's
    triage key (reviewer.triage, no passphrase, certified by the main key), and verify."""
    no_passphrase = {"ATTEST_REVIEWER_PASSPHRASE": ""}
    claimed = q4.run("review", "claim", env=no_passphrase, input="")
    assert claimed.exit_code == 0, claimed.output
    assert "Passphrase" not in claimed.output
    account = claimed.stdout.strip()
    for args in (
        ("triage", account, "--add-tag", "medical"),
        ("triage", account, "--status", "follow-up"),
        ("release", account),
        ("list", "--mine"),
    ):
        result = q4.run("review", *args, env=no_passphrase, input="")
        assert result.exit_code == 0, (args, result.output)
        assert "Passphrase" not in result.output
    engine = open_queue(q4.url)
    with engine.connect() as conn:
        from sqlalchemy import select

        from storage.queue.tables import audit_log

        signatures = list(
            conn.execute(
                select(audit_log.c.signature).where(audit_log.c.actor.like("reviewer:%"))
            ).scalars()
        )
    engine.dispose()
    assert len(signatures) == 4 and all(s and s.startswith("triage:") for s in signatures)
    verified = q4.run("review", "audit", "verify")
    assert verified.exit_code == 0, verified.output
    # A note is sealed: that needs the private key, so the passphrase is asked for.
    noted = q4.run("review", "triage", account, "--note", "x", env=no_passphrase, input="")
    assert noted.exit_code == 1 and "Passphrase" in noted.output
    assert noted.output.strip().splitlines()[-1] == "No passphrase given."
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "ATTEST_REVIEWER_PASSPHRASE" in readme and "on a shared machine" in readme
    assert "reviewer.triage" in readme and "asks for the passphrase once per command" not in readme


def test_show_translates_consent_and_indents_multi_line_questions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = next(fresh_queue_url("sqlite", tmp_path))
    node = NodeKeys.generate()
    question = "Where did it happen?\nName a town, a region or a country."
    item = make_account(
        node,
        [reviewer("a")],
        urgent=True,
        answers=[answer("where", question, "Kabul")],
    )
    put_accounts(url, node, [item])
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "trust-node", node.fingerprint], env=env).exit_code == 0
    account = item.sealed.account_id
    english = runner.invoke(main, ["review", "show", account], env=env)
    assert "  1. Where did it happen?\n     Name a town, a region or a country." in english.output
    assert "\x1b[" not in english.output  # no colour when not a terminal
    for language, label in (("fr", "Partager"), ("ar", "مشاركة")):
        shown = runner.invoke(
            main, ["review", "show", account], env={**env, "ATTEST_REVIEWER_LANGUAGE": language}
        )
        assert shown.exit_code == 0, shown.output
        consent = shown.output.split("\n\n")[1]
        assert "Share with accountability mechanisms" not in consent, consent
        assert "Keep in the secure archive" not in consent
        assert label in consent, consent
    # On a terminal: URGENT in colour, and a long account through the pager.
    paged: list[str] = []
    monkeypatch.setattr("review.cli._on_terminal", lambda: True)
    monkeypatch.setattr("review.cli.click.echo_via_pager", lambda text, **_k: paged.append(text))
    monkeypatch.setattr("review.cli._terminal_lines", lambda: 10)
    coloured = runner.invoke(main, ["review", "show", account], env=env, color=True)
    assert coloured.exit_code == 0, coloured.output
    assert paged and "\x1b[31m" in paged[0] and "URGENT" in paged[0]
    listed = runner.invoke(main, ["review", "list"], env=env, color=True)
    assert "\x1b[31m\x1b[1mURGENT" in listed.output or "\x1b[1m\x1b[31mURGENT" in listed.output
