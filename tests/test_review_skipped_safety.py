"""Issue 12 item 7 as a reviewer meets it: a skipped "was it recent?" is urgent, not answered.

The account comes from the real survivor interview (urgency skipped, taken as "not sure"
for the person's sake), is sealed, queued and opened with `attest review show`.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli_queue import trust_node
from review.cli import review
from storage.crypto import NodeKeys
from tests.golden.talk import Talk
from tests.queue_support import (
    PASSPHRASE,
    fresh_queue_url,
    make_account,
    put_accounts,
    reviewer,
    save_reviewer,
)


def test_a_skipped_urgency_question_shows_urgent_and_not_answered(tmp_path: Path) -> None:
    talk = Talk.of("survivor")
    talk.start()
    talk.run("1", "1", "1", "1")
    talk.command("skip")  # urgency
    # Issue 14: contact (no) now comes before mechanisms (anonymised).
    talk.run("1", "no", "1", "1", "2", "no", "1", "no", "1", "1")
    talk.send("Three men stopped me on the road.")
    talk.press("done")
    talk.press("stop")
    talk.press("review")
    talk.send("1")
    talk.press("keep")
    account = talk.press("send").account
    assert account is not None and account.urgent
    answers = [a.to_dict() for a in account.answers]
    assert {a["step"]: a["status"] for a in answers}["urgency"] == "skip"

    for url in fresh_queue_url("sqlite", tmp_path):
        node = NodeKeys.generate()
        item = make_account(
            node, [reviewer("a")], scopes=dict(account.consent.scopes), urgent=True, answers=answers
        )
        put_accounts(url, node, [item])
        env = {
            "ATTEST_DATA_DIR": str(tmp_path / "data"),
            "ATTEST_QUEUE_URL": url,
            "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
        shown = CliRunner().invoke(review, ["show", item.sealed.account_id], env=env)
        assert shown.exit_code == 0, shown.output
        lines = shown.output.splitlines()
        assert any(line.startswith("URGENT") for line in lines)
        # Urgent so that someone checks; the line says what the person answered.
        assert any(line.startswith("URGENT: the person did not say whether") for line in lines)
        assert not any("something happened" in line for line in lines)
        asked = next(i for i, line in enumerate(lines) if "in the last 5 days?" in line)
        assert lines[asked + 1].strip() == "(not answered: skipped)"
