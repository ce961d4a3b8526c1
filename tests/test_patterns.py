"""The patterns page's chart data, its export and its drawing (review/desk/patterns_page.py)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import Any

from flows.i18n import translator
from flows.loader import load_flows
from review.desk.elements_page import case_summary
from review.desk.facts import AccountFacts, facts_of
from review.desk.patterns_page import (
    Bar,
    Chart,
    charts_csv,
    charts_of,
    count_by_choice,
    count_over_time,
    exported_count,
    svg_for,
)
from storage.queue.items import QueueItem
from tests.pattern_support import choice
from tests.queue_support import FULL_SCOPES, T0, answer, fresh_queue_url

FLOWS = load_flows()
EN = translator("en")


def item(n: int, days: int = 0) -> QueueItem:
    return QueueItem(
        account_id=f"acct{n:04d}",
        received_at=T0,
        submitted_at=T0 + timedelta(days=days),
        flow="survivor",
        language="en",
        channel="console",
        urgent=False,
        scopes=dict(FULL_SCOPES),
        status="new",
        assignee=None,
        lease_until=None,
        node_fingerprint="f" * 64,
        withdrawn_at=None,
    )


def body(answers: list[dict[str, Any]], reports: str = "yes") -> dict[str, Any]:
    return {
        "flow": "survivor",
        "answers": answers,
        "consent": {"scopes": {**FULL_SCOPES, "reports": reports}},
    }


def facts(
    n: int, answers: list[dict[str, Any]], days: int = 0, reports: str = "yes"
) -> AccountFacts:
    return facts_of(item(n, days), body(answers, reports), FLOWS)


def when(text: str) -> dict[str, Any]:
    return answer("when-started", "About when did it start?", text, kind="approximate-date")


def test_facts_keep_option_ids_and_the_coarse_date_never_the_typed_text() -> None:
    f = facts(1, [choice("harms", ["barred-work", "other"]), when("spring 2023, in the old town")])
    assert f.choices == {"harms": ("barred-work", "other")}
    assert str(f.incident) == "2023-spring"
    assert "old town" not in repr(f.__dict__)
    skipped = {**choice("grounds", ["age"]), "status": "prefer-not", "value": None}
    assert facts(2, [skipped]).choices == {}


def test_accounts_over_time_by_the_incident_year_with_gaps_and_unreadable_dates() -> None:
    accounts = [
        facts(1, [when("2021")]),
        facts(2, [when("spring 2023")]),
        facts(3, [when("بهار ۱۴۰۱")]),  # Persian, Solar Hijri: 2022
        facts(4, [when("last year")]),  # relative: nothing is read
        facts(5, []),
    ]
    chart = count_over_time(accounts, "incident", EN)
    assert [(b.key, b.count) for b in chart.bars] == [("2021", 1), ("2022", 1), ("2023", 1)]
    assert chart.unknown == 2
    by_sending = count_over_time(
        [facts(1, [], days=0), facts(2, [], days=40), facts(3, [], days=41)], "submitted", EN
    )
    assert [(b.key, b.count) for b in by_sending.bars] == [("2026-11", 1), ("2026-12", 2)]


def test_accounts_by_harm_count_each_account_once_per_option_in_the_flow_order() -> None:
    accounts = [
        facts(1, [choice("harms", ["sexual-violence", "barred-work"])]),
        facts(2, [choice("harms", ["barred-work"])]),
        facts(3, []),
    ]
    chart = count_by_choice(accounts, "harms", FLOWS, EN)
    assert [(b.key, b.count) for b in chart.bars] == [("sexual-violence", 1), ("barred-work", 2)]
    assert chart.bars[0].label == "Sexual violence (including sexual threats or forced nudity)"
    assert chart.unknown == 1
    labels = count_by_choice(accounts, "harms", FLOWS, translator("ar"))
    assert labels.bars[1].label != "Barred from work, or dismissed"  # the reviewer's language


def test_every_chart_of_the_page_and_its_export_with_small_counts_suppressed() -> None:
    accounts = [
        facts(n, [choice("perpetrators", ["morality-police"]), choice("region", "elsewhere")])
        for n in range(6)
    ] + [facts(9, [choice("grounds", ["ethnicity"])])]
    charts = charts_of(accounts, "incident", FLOWS, EN)
    assert [c.key for c in charts] == [
        "time-incident",
        "harms",
        "perpetrators",
        "grounds",
        "region",
    ]
    rows = list(csv.reader(io.StringIO(charts_csv(charts, EN))))
    assert rows[0] == ["chart", "value", "label", "accounts"]
    by_key = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert by_key[("perpetrators", "morality-police")] == "6"
    assert by_key[("grounds", "ethnicity")] == "fewer than 5"
    assert by_key[("grounds", "")] == "6"  # not answered
    assert by_key[("perpetrators", "")] == "fewer than 5"
    assert all(r[3] == "fewer than 5" or int(r[3]) >= 5 for r in rows[1:])
    assert exported_count(4, EN) == "fewer than 5" and exported_count(5, EN) == "5"


def test_a_chart_is_svg_with_text_labels_and_nothing_the_csp_refuses() -> None:
    chart = Chart(
        "harms", "Accounts by harm", (Bar("a", "العنف الجنسي", 7), Bar("b", "Work", 3)), 0, ""
    )
    svg = svg_for(chart)
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "\u2068العنف الجنسي\u2069" in texts and "7" in texts  # isolated: ordered as Arabic
    assert "Work" in texts
    # The first bar of the table is the top one of the chart.
    y_of = {t.text: float(t.get("y") or 0) for t in root.iter(f"{ns}text")}
    assert y_of["\u2068العنف الجنسي\u2069"] < y_of["Work"]
    assert not list(root.iter(f"{ns}script")) and not list(root.iter(f"{ns}style"))
    assert all("style" not in e.attrib for e in root.iter())
    assert root.get("role") == "img" and root.get("aria-label") == "Accounts by harm"


def test_the_case_summary_lists_the_supporting_accounts_by_id() -> None:
    accounts = [
        facts(1, [choice("harms", ["sexual-violence"])]),
        facts(2, [answer("recall", "What happened?", "Words.")]),
        facts(3, []),
    ]
    rows = {r.element: r for r in case_summary(accounts, EN)}
    assert rows["E4"].supporting == ("acct0001",)
    assert rows["E4"].possibly == ("acct0002",)
    assert rows["E4"].lacking == 1
    assert rows["E2"].supporting == () and rows["E2"].title.startswith("Targeted")


def test_attest_review_list_starts_without_the_charting_library(tmp_path: Path) -> None:
    for url in fresh_queue_url("sqlite", tmp_path):
        code = (
            "import sys\n"
            "from bot.cli import main\n"
            "try:\n"
            "    main(['review', 'list', '--json'])\n"
            "except SystemExit as done:\n"
            "    assert not done.code, done.code\n"
            "print(sorted(m for m in sys.modules if m.startswith(('pygal', 'review.desk'))))\n"
        )
        env = {**os.environ, "ATTEST_QUEUE_URL": url, "ATTEST_DATA_DIR": str(tmp_path / "data")}
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == "[]"
