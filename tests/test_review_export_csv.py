"""CSV that other tools open: a byte-order mark, yes/no, and `--layout accounts` for Uwazi.

Read back with the csv module as a spreadsheet or Uwazi's CSV import would read it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from bot.cli_queue import trust_node
from review.cli import review
from review.export import to_xlsx
from storage.crypto import NodeKeys
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

NAMED = {"archive": "yes", "reports": "yes", "mechanisms": "named"}
ANONYMISED = {"archive": "yes", "reports": "yes", "mechanisms": "anonymised"}
STORY = "أغلقوا مدرسة البنات في قريتنا"  # Arabic: what Excel garbles without a BOM


def _answers() -> list[dict]:
    harms = answer("harms", "What did they do?", ["beaten", "detained"], kind="multiple-choice")
    harms["labels"] = ["Beaten", "Detained"]
    return [
        answer("what-happened", "In your own words, what happened?", STORY),
        harms,
        answer("name", "What is your name?", "Layla", identifying=True),
        answer("when", "When did it start?", "=spring 2023", kind="approximate-date"),
    ]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    for url in fresh_queue_url(request.param, tmp_path):
        node = NodeKeys.generate()
        accounts = [
            make_account(node, [reviewer("a")], scopes=NAMED, urgent=True, answers=_answers()),
            make_account(node, [reviewer("a")], scopes=ANONYMISED, answers=_answers()),
        ]
        put_accounts(url, node, accounts)
        env = {
            "ATTEST_DATA_DIR": str(tmp_path / "data"),
            "ATTEST_QUEUE_URL": url,
            "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
        yield env


def _export(env: dict[str, str], out: Path, *args: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(review, ["export", "--out", str(out), *args], env=env)
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the UTF-8 byte-order mark
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_accounts_layout_has_one_row_per_account_a_title_and_pipe_joins(
    env: dict[str, str], tmp_path: Path
) -> None:
    rows = _export(
        env,
        tmp_path / "accounts.csv",
        "--format", "csv", "--layout", "accounts", "--purpose", "mechanisms",
    )  # fmt: skip
    assert len(rows) == 2
    assert list(rows[0])[:2] == ["title", "account_id"]
    by_sharing = {r["sharing"]: r for r in rows}
    named, anonymised = by_sharing["named"], by_sharing["anonymised"]
    for row in rows:
        short, day = row["title"].split(" ")
        assert short == row["account_id"][:8]
        assert datetime.fromisoformat(day).date().isoformat() == day
        datetime.fromisoformat(row["received_at"])  # ISO times
        datetime.fromisoformat(row["submitted_at"])
        assert row["harms"] == "Beaten|Detained"
    assert named["urgent"] == "yes" and anonymised["urgent"] == "no"
    assert named["what-happened"] == STORY and named["name"] == "Layla"
    assert named["when"] == "'=spring 2023"  # a formula stays text
    # Consent still decides: the anonymised row withholds the story and the name.
    assert anonymised["what-happened"] == "(withheld: free-text)"
    assert anonymised["name"] == "" and "Layla" not in str(anonymised)
    assert anonymised["when"] == "2023-spring"
    assert "triage_status" not in named


def test_the_answers_layout_stays_the_default_with_a_bom_and_yes_no(
    env: dict[str, str], tmp_path: Path
) -> None:
    default = _export(env, tmp_path / "a.csv", "--format", "csv", "--purpose", "mechanisms")
    explicit = _export(
        env,
        tmp_path / "b.csv",
        "--format", "csv", "--layout", "answers", "--purpose", "mechanisms",
    )  # fmt: skip
    assert [r["step"] for r in default] == [r["step"] for r in explicit]
    assert len(default) == 4 + 3  # one row per answer; the anonymised account has no name
    assert {r["urgent"] for r in default} == {"yes", "no"}
    assert {r["identifying"] for r in default} == {"yes", "no"}
    assert STORY in {r["value"] for r in default}


def test_internal_csv_carries_triage_state_in_both_layouts(
    env: dict[str, str], tmp_path: Path
) -> None:
    ids = [r["account_id"] for r in _export(env, tmp_path / "x.csv", "--format", "csv",
                                            "--layout", "accounts", "--internal")]  # fmt: skip
    runner = CliRunner()
    runner.invoke(review, ["triage", ids[0], "--status", "referred", "--add-tag", "icc"], env=env)
    runner.invoke(review, ["triage", ids[0], "--note", "called back; safe now"], env=env)
    for layout in ("accounts", "answers"):
        rows = _export(
            env, tmp_path / f"{layout}.csv", "--format", "csv", "--layout", layout,
            "--internal", "--include-notes",
        )  # fmt: skip
        first = [r for r in rows if r["account_id"] == ids[0]]
        assert {r["triage_status"] for r in first} == {"referred"}
        assert {r["triage_tags"] for r in first} == {"icc"}
        assert all("called back; safe now" in r["triage_notes"] for r in first)
        rows = _export(
            env, tmp_path / f"p-{layout}.csv", "--format", "csv", "--layout", layout,
            "--purpose", "mechanisms",
        )  # fmt: skip
        assert all(not k.startswith("triage") for r in rows for k in r)
        assert "called back" not in (tmp_path / f"p-{layout}.csv").read_text("utf-8-sig")


def test_layout_is_refused_for_json(env: dict[str, str]) -> None:
    result = CliRunner().invoke(review, ["export", "--layout", "accounts", "--internal"], env=env)
    assert result.exit_code == 2 and "--format csv" in result.output


def test_xlsx_has_a_sheet_of_accounts_and_one_of_answers(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "export.xlsx"
    result = CliRunner().invoke(
        review,
        ["export", "--format", "xlsx", "--purpose", "mechanisms", "--out", str(out)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["accounts", "answers"]
    head, *rows = list(book["accounts"].values)
    accounts = [dict(zip(head, r, strict=True)) for r in rows]
    assert len(accounts) == 2 and head[0] == "title"
    by_sharing = {a["sharing"]: a for a in accounts}
    assert by_sharing["named"]["what-happened"] == STORY  # Arabic, intact
    assert by_sharing["named"]["harms"] == "Beaten|Detained"
    assert by_sharing["named"]["when"] == "'=spring 2023"  # text, never a formula
    assert by_sharing["anonymised"]["what-happened"] == "(withheld: free-text)"
    assert "Layla" not in str(by_sharing["anonymised"])
    head, *rows = list(book["answers"].values)
    answers = [dict(zip(head, r, strict=True)) for r in rows]
    assert len(answers) == 4 + 3 and {a["urgent"] for a in answers} == {"yes", "no"}
    assert not any(h.startswith("triage") for h in head)
    assert all(c.data_type == "s" for row in book["answers"].iter_rows() for c in row if c.value)


def test_xlsx_carries_triage_only_internally_and_needs_a_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "internal.xlsx"
    args = ["export", "--format", "xlsx", "--internal", "--out", str(out)]
    assert CliRunner().invoke(review, args, env=env).exit_code == 0
    head = next(iter(openpyxl.load_workbook(out)["accounts"].values))
    assert "triage_status" in head and "triage_tags" in head
    result = CliRunner().invoke(review, ["export", "--format", "xlsx", "--internal"], env=env)
    assert result.exit_code == 2 and "--out" in result.output


def test_xlsx_holds_control_characters_a_person_typed_without_failing() -> None:
    record = {
        "account_id": "ab" * 16,
        "sharing": "internal",
        "received_at": "2026-11-01T09:00:00+00:00",
        "submitted_at": "2026-11-01T08:59:00+00:00",
        "urgent": False,
        "consent": {"scopes": {"reports": "no", "mechanisms": "no"}},
        "answers": [
            {"step": "what-happened", "kind": "free-text", "status": "answered",
             "value": "bell\x07 here", "labels": []},
        ],
    }  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx([record])))
    head, row = list(book["accounts"].values)
    assert dict(zip(head, row, strict=True))["what-happened"] == "bell\ufffd here"
    assert dict(zip(head, row, strict=True))["title"] == "abababab 2026-11-01"
