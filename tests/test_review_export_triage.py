"""Internal exports carry the team's triage work; anonymised and named ones never do.

Filters (--status, --tag, --id, --since, --until) narrow any export, and bad values are
refused with a clear message before anything is written or audited.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import text

from review.cli import review
from storage.queue.admin import open_queue
from tests.test_review_export import Exporting, exporting  # noqa: F401

NOTE = "Spoke to the shelter; she moved on 3 May"


def _triage(exporting: Exporting, name: str, *args: str) -> None:  # noqa: F811
    result = CliRunner().invoke(review, ["triage", exporting.ids[name], *args], env=exporting.env)
    assert result.exit_code == 0, result.output


def _triaged(exporting: Exporting) -> None:  # noqa: F811
    _triage(exporting, "named", "--status", "follow-up", "--add-tag", "housing")
    _triage(exporting, "named", "--note", NOTE)
    _triage(exporting, "anon-mech", "--status", "verified", "--add-tag", "icc")


def _audit_details(exporting: Exporting) -> list[dict]:  # noqa: F811
    engine = open_queue(exporting.url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT detail FROM audit_log WHERE action = 'exported'")).all()
    engine.dispose()
    return [json.loads(r.detail) for r in rows]


def test_internal_exports_carry_status_tags_and_assignee_but_notes_only_when_asked(
    exporting: Exporting,  # noqa: F811
) -> None:
    _triaged(exporting)
    accounts = exporting.exported("--internal")
    named = accounts[exporting.ids["named"]]
    assert named["triage"]["status"] == "follow-up"
    assert named["triage"]["tags"] == ["housing"]
    assert "assignee" in named["triage"]
    assert "notes" not in named["triage"] and NOTE not in json.dumps(accounts)
    assert accounts[exporting.ids["archive-only"]]["triage"]["status"] == "new"

    accounts = exporting.exported("--internal", "--include-notes")
    notes = accounts[exporting.ids["named"]]["triage"]["notes"]
    assert [n["text"] for n in notes] == [NOTE]
    assert notes[0]["author"] and notes[0]["created_at"]
    assert accounts[exporting.ids["anon-mech"]]["triage"]["notes"] == []
    assert sum(1 for d in _audit_details(exporting) if d.get("notes") == "included") == 4


def test_anonymised_and_named_exports_carry_no_triage_state(exporting: Exporting) -> None:  # noqa: F811
    _triaged(exporting)
    for args in (("--purpose", "reports"), ("--purpose", "mechanisms")):
        document, _ = exporting.export(*args)
        dumped = json.dumps(document)
        assert document["accounts"]
        assert all("triage" not in a for a in document["accounts"])
        for secret in ("follow-up", "housing", "icc", NOTE):
            assert secret not in dumped, (args, secret)
    for fmt in ("csv",):
        _, output = exporting.export("--format", fmt, "--purpose", "mechanisms")
        for secret in ("follow-up", "housing", "icc", NOTE):
            assert secret not in output


def test_notes_are_refused_outside_internal_exports(exporting: Exporting) -> None:  # noqa: F811
    _triaged(exporting)
    result = CliRunner().invoke(
        review, ["export", "--purpose", "mechanisms", "--include-notes"], env=exporting.env
    )
    assert result.exit_code == 2 and "--internal" in result.output
    assert NOTE not in result.output
    assert _audit_details(exporting) == []


def test_filters_by_status_tag_and_id(exporting: Exporting) -> None:  # noqa: F811
    _triaged(exporting)
    ids = exporting.ids
    assert set(exporting.exported("--internal", "--status", "follow-up")) == {ids["named"]}
    assert set(exporting.exported("--internal", "--status", "new")) == {
        ids["reports-only"],
        ids["archive-only"],
    }
    assert set(exporting.exported("--internal", "--tag", "housing", "--tag", "icc")) == {
        ids["named"],
        ids["anon-mech"],
    }
    assert set(exporting.exported("--internal", "--id", ids["archive-only"])) == {
        ids["archive-only"]
    }
    # A filter narrows what consent allows; it never widens it.
    assert set(exporting.exported("--purpose", "reports", "--id", ids["anon-mech"])) == set()
    # Only what was exported is audited.
    assert len(_audit_details(exporting)) == 1 + 2 + 2 + 1


def test_filters_by_day_of_receipt(exporting: Exporting) -> None:  # noqa: F811
    day = datetime.now(UTC).date()  # put_accounts receives them now
    before, after = (day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat()
    assert len(exporting.exported("--internal", "--since", day.isoformat())) == 4
    assert len(exporting.exported("--internal", "--until", day.isoformat())) == 4
    assert len(exporting.exported("--internal", "--since", after)) == 0
    assert len(exporting.exported("--internal", "--until", before)) == 0
    assert len(exporting.exported("--internal", "--since", before, "--until", after)) == 4


def test_bad_filter_values_are_refused_clearly_and_nothing_is_exported(
    exporting: Exporting,  # noqa: F811
) -> None:
    cases = [
        (["--status", "done"], "done"),
        (["--since", "May 2024"], "May 2024"),
        (["--since", "2024-05-02", "--until", "2024-05-01"], "--since 2024-05-02"),
    ]
    for args, said in cases:
        result = CliRunner().invoke(review, ["export", "--internal", *args], env=exporting.env)
        assert result.exit_code == 2, (args, result.output)
        assert said in result.output, (args, result.output)
        assert "Traceback" not in result.output
    result = CliRunner().invoke(
        review, ["export", "--internal", "--id", "no-such-account"], env=exporting.env
    )
    assert result.exit_code == 1 and "no-such-account" in result.output
    assert "attest review list" in result.output
    assert _audit_details(exporting) == []
