"""Anonymised exports keep only a coarse year or season of a typed date (issue 13, item 4).

The attack: `approximate-date` answers are free typing ("spring 2023, when they came to
X") and passed whole through every anonymised export, `--purpose reports` and
`mechanisms` for people who chose "without my name". Now an anonymised account keeps only
what `flows.dates` reads (the year, or the season of a year), and withholds a date it
cannot read like free text.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli_queue import trust_node
from storage.crypto import NodeKeys
from tests.queue_support import answer, make_account, put_accounts, reviewer
from tests.test_review_export_free_text import CANARY, Exporting, exporting  # noqa: F401

QUESTION = "About when did it start?"
TYPED = f"spring 2023, when they came to Deh Sabz for {CANARY}"
UNREADABLE = f"the week the commander Wahid {CANARY} came back"


def _put(exporting: Exporting, mechanisms: str, typed: str) -> str:  # noqa: F811
    node = NodeKeys.generate()
    date = answer("when-started", QUESTION, typed, kind="approximate-date")
    item = make_account(
        node,
        [reviewer("a")],
        scopes={"archive": "yes", "reports": "yes", "mechanisms": mechanisms},
        answers=[date],
    )
    put_accounts(exporting.env["ATTEST_QUEUE_URL"], node, [item])
    assert CliRunner().invoke(trust_node, [node.fingerprint], env=exporting.env).exit_code == 0
    return item.sealed.account_id


@pytest.mark.parametrize("purpose", ["reports", "mechanisms"])
def test_an_anonymised_export_keeps_only_the_season_and_year_of_a_typed_date(
    exporting: Exporting,  # noqa: F811
    purpose: str,
) -> None:
    account_id = _put(exporting, "anonymised", TYPED)
    document = exporting.export("--purpose", purpose)
    anonymised = [a for a in document["accounts"] if a["sharing"] == "anonymised"]
    assert CANARY not in json.dumps(anonymised, ensure_ascii=False)
    assert "Deh Sabz" not in json.dumps(anonymised, ensure_ascii=False)
    [date] = {a["account_id"]: a for a in anonymised}[account_id]["answers"]
    assert date == {
        "step": "when-started",
        "kind": "approximate-date",
        "status": "answered",
        "value": "2023-spring",
        "labels": [],
        "section": "account",
        "elements": ["E1"],
        "identifying": False,
        "withheld": "date-detail",
    }
    rows = [r for r in exporting.csv_rows("--purpose", purpose) if r["account_id"] == account_id]
    assert CANARY not in json.dumps(rows, ensure_ascii=False)
    [row] = rows
    assert row["value"] == "2023-spring" and row["withheld"] == "date-detail"
    assert row["sha256"] == ""  # the hash of the typed text would confirm a guess of it


def test_a_date_with_no_year_to_read_is_withheld_like_free_text(
    exporting: Exporting,  # noqa: F811
) -> None:
    account_id = _put(exporting, "anonymised", UNREADABLE)
    [date] = exporting.accounts("--purpose", "reports")[account_id]["answers"]
    assert date["withheld"] == "free-text"
    assert "value" not in date and "sha256" not in date and "question" not in date


def test_named_internal_and_included_free_text_keep_the_typed_date(
    exporting: Exporting,  # noqa: F811
) -> None:
    named = _put(exporting, "named", TYPED)
    anonymised = _put(exporting, "anonymised", TYPED)
    [by_name] = exporting.accounts("--purpose", "mechanisms")[named]["answers"]
    assert by_name["value"] == TYPED and "withheld" not in by_name
    [internal] = exporting.accounts("--internal")[anonymised]["answers"]
    assert internal["value"] == TYPED
    # A reviewer who will redact the typed text may include it, as with free text.
    [included] = exporting.accounts("--purpose", "reports", "--include-free-text")[anonymised][
        "answers"
    ]
    assert included["value"] == TYPED and "withheld" not in included
