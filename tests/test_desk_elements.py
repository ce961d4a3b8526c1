"""The elements view, the "lacks E…" filter, the patterns page and the case summary, over HTTP.

Against the real desk (tests/desk_support.py) with the pattern accounts of
tests/pattern_support.py added: six alike, one other, one sealed to another team's key.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.desk_support import RunningDesk, running_desk
from tests.pattern_support import put_pattern_accounts
from tests.queue_support import BACKENDS, fresh_queue_url
from tests.test_desk_http import audit_actions, unlocked


@pytest.fixture(params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[RunningDesk, list[str]]]:
    for url in fresh_queue_url(request.param, tmp_path):
        for desk in running_desk(tmp_path, url):
            yield desk, put_pattern_accounts(url, desk.node)


def rows_of(html: str) -> list[str]:
    return re.findall(r'<a href="/accounts/([0-9a-f]+)" class="mono">', html)


def test_the_elements_view_is_an_aid_and_shows_support_only_from_answered_choices(
    served: tuple[RunningDesk, list[str]],
) -> None:
    desk, ids = served
    http, _csrf = unlocked(desk)
    page = http.get(f"/accounts/{ids[0]}").text
    assert "An aid for the reviewer, not a legal finding." in page
    section = page[page.index('id="elements-title"') :]
    row = {
        e: section[section.index(f'id="element-{e}"') :].split("</tr>")[0]
        for e in ("E1", "E3", "E4", "E6", "E8")
    }
    # Dress rules and detention: E1 and E4; "being a woman or girl": E3; morality police: E6.
    assert "Answers support it" in row["E1"] and "Dress or appearance rules" in row["E1"]
    assert "Answers support it" in row["E4"] and "Detention, arrest or abduction" in row["E4"]
    assert "Dress or appearance rules" not in row["E4"]
    assert "Answers support it" in row["E3"] and "Being a woman or girl" in row["E3"]
    assert "Answers support it" in row["E6"]
    # Only the recall bears on knowledge: possibly, with a link to the answer to read.
    assert "Possibly: read the answer" in row["E8"] and 'href="#answer-1"' in row["E8"]
    printed = http.get(f"/accounts/{ids[0]}/print").text
    assert "An aid for the reviewer, not a legal finding." in printed
    # The Arabic account of the desk's seed: "I don't know", skips and "prefer not" count for nothing.
    arabic = http.get(f"/accounts/{desk.ids['arabic']}").text
    arabic_rows = arabic[arabic.index('id="elements-title"') :]
    e7 = arabic_rows[arabic_rows.index('id="element-E7"') :].split("</tr>")[0]
    assert "Answers support it" not in e7


def test_the_queue_filter_lists_the_accounts_that_lack_an_element(
    served: tuple[RunningDesk, list[str]],
) -> None:
    desk, ids = served
    http, _csrf = unlocked(desk)
    everything = set(rows_of(http.get("/queue?page=1").text))
    assert set(ids) <= everything
    lacking_e3 = http.get("/queue?lacks=E3")
    assert lacking_e3.status_code == 200
    listed = set(rows_of(lacking_e3.text))
    assert not listed & set(ids[:6])  # "being a woman or girl" supports E3
    assert ids[6] in listed  # no grounds answered
    assert ids[7] not in listed  # sealed to another key: never counted, and said so
    assert "Left out: 1 sealed only to reviewer keys you do not hold" in lacking_e3.text
    assert "not a legal finding" in lacking_e3.text
    assert '<option value="E3" selected>' in lacking_e3.text
    assert f"{len(listed)} accounts match" in lacking_e3.text
    # Opening accounts for the filter is audited, once per account per unlock.
    opened = audit_actions(desk).count("opened")
    http.get("/queue?lacks=E5")
    assert audit_actions(desk).count("opened") == opened
    bad = http.get("/queue?lacks=E9")
    assert "A filter could not be read" in bad.text


def test_the_patterns_page_draws_each_chart_as_svg_with_its_table(
    served: tuple[RunningDesk, list[str]],
) -> None:
    desk, _ids = served
    http, _csrf = unlocked(desk)
    page = http.get("/patterns")
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 5 and "<script" not in html.split("</head>")[1]
    for title in (
        "Accounts by harm",
        "Accounts by who did it",
        "Accounts by grounds of targeting",
        "Accounts by region",
    ):
        assert title in html
    # The numbers beside the chart: six accounts named the morality police.
    assert re.search(r"<th scope=\"row\">“Morality” or vice-and-virtue police</th><td>6</td>", html)
    assert re.search(r"<th scope=\"row\">2023</th><td>6</td>", html)
    assert "Left out: 1 sealed only to reviewer keys you do not hold" in html
    by_sending = http.get("/patterns?time=submitted").text
    assert "by when they were sent" in by_sending
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_the_patterns_export_counts_consenting_accounts_and_hides_small_counts(
    served: tuple[RunningDesk, list[str]],
) -> None:
    desk, _ids = served
    http, _csrf = unlocked(desk)
    exported = audit_actions(desk).count("exported")
    answer = http.get("/patterns.csv")
    assert audit_actions(desk).count("exported") == exported + 1
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    counts = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert counts[("perpetrators", "morality-police")] == "6"
    # The account without consent to reports is not in the export; the seed's one is few.
    assert ("perpetrators", "unknown") not in counts
    assert all(r[3] == "fewer than 5" or int(r[3]) >= 5 for r in rows[1:])


def test_the_case_summary_lists_accounts_by_element_for_printing(
    served: tuple[RunningDesk, list[str]],
) -> None:
    desk, ids = served
    http, _csrf = unlocked(desk)
    page = http.get("/summary").text
    assert "Case summary by element" in page and "not a legal finding" in page
    e4 = page[page.index('id="summary-E4"') : page.index('id="summary-E5"')]
    for account_id in ids[:6]:
        assert account_id in e4
    assert ids[6] not in e4 and ids[7] not in page
    filtered = http.get("/summary?lacks=E3").text
    assert ids[6] in filtered and ids[0] not in filtered
    assert "data-print" in page


def test_the_new_pages_need_the_desk_unlocked(served: tuple[RunningDesk, list[str]]) -> None:
    desk, _ids = served
    http = httpx.Client(base_url=desk.url, follow_redirects=False, timeout=20)
    for path in ("/patterns", "/patterns.csv", "/summary", "/queue?lacks=E1"):
        answer = http.get(path)
        assert answer.status_code == 303 and answer.headers["location"] == "/unlock"
