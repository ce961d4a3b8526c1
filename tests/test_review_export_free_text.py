"""Anonymised exports withhold the person's own words unless a reviewer includes them on purpose.

The accounts are real: a whole survivor interview through the engine, so the free recall,
its follow-up (which no longer quotes the recall back, issue 12) and the choices are what
a node would seal. Each free-text answer carries a canary that must not leave in an anonymised
export, in JSON or CSV, unless `--include-free-text` is given, which the audit log records.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli_queue import trust_node
from flows.catalogs import ROOT
from flows.deployment import demo_deployment
from flows.engine import Engine
from flows.i18n import translator
from flows.loader import load_flow
from flows.spec import TEXT_KINDS
from flows.types import Inbound, Outbound
from review.cli import review
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

FLOW = load_flow(ROOT / "flows" / "definitions" / "survivor.yaml")
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CANARY = "canary-Ωیادگار"
RECALL = f"They took me from Deh Sabz, {CANARY}-recall, my uncle Karim was there."
FOLLOW_UP = f"It was the commander Wahid {CANARY}-follow-up."
TYPED = {
    "recall": RECALL,
    "recall-follow-up": FOLLOW_UP,
    "when-started": "spring 2023",
}
CHOSEN = {
    "harms": ("barred-education", "other"),  # "other" asks harms-other, free text too
    "consent-reports": ("yes",),
    "more": ("done",),
    "check-in": ("continue",),
    "review": ("send",),
}


def _reply(ask: Outbound, mechanisms: str, index: int) -> Inbound:
    step = ask.ask or ""
    entropy = bytes([index % 256]) * 16
    if ask.kind in TEXT_KINDS:
        typed = TYPED.get(step) or f"In my own words ({step}), {CANARY}-{step}."
        return Inbound(kind="text", text=typed, entropy=entropy)
    wanted = (mechanisms,) if step == "consent-mechanisms" else CHOSEN.get(step)
    numbers = {c.value: c.n for c in ask.choices}
    picked = [numbers[v] for v in wanted or () if v in numbers] or [ask.choices[0].n]
    return Inbound(kind="text", text=", ".join(map(str, picked)), entropy=entropy)


@cache
def interview_answers(mechanisms: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """(consent scopes, answers) of a whole survivor interview, as the sealed body has them."""
    engine = Engine(FLOW, demo_deployment())
    session = engine.new_session("someone", NOW)
    inbound = Inbound(kind="start")
    for index in range(300):
        turn = engine.handle(session, inbound, NOW, translator("en"))
        if turn.end is not None:
            assert turn.end == "submitted" and turn.account is not None
            return dict(turn.account.consent.scopes), [a.to_dict() for a in turn.account.answers]
        assert turn.session is not None
        session = turn.session
        inbound = _reply(turn.messages[-1], mechanisms, index)
    raise AssertionError("the interview did not end")


@dataclass
class Exporting:
    env: dict[str, str]
    anonymised: str  # account id: mechanisms "anonymised", reports "yes"
    named: str  # account id: mechanisms "named", reports "yes"

    def run(self, *args: str) -> Result:
        result = CliRunner().invoke(review, list(args), env=self.env)
        assert result.exit_code == 0, result.output
        return result

    def export(self, *args: str) -> dict[str, Any]:
        return json.loads(self.run("export", *args).stdout)  # type: ignore[no-any-return]

    def accounts(self, *args: str) -> dict[str, dict[str, Any]]:
        return {a["account_id"]: a for a in self.export(*args)["accounts"]}

    def csv_rows(self, *args: str) -> list[dict[str, str]]:
        return list(
            csv.DictReader(
                io.StringIO(
                    # The CSV starts with a byte-order mark (issue 17): as utf-8-sig reads it.
                    self.run("export", "--format", "csv", *args).stdout.removeprefix("\ufeff")
                )
            )
        )


@pytest.fixture(params=BACKENDS)
def exporting(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Exporting]:
    for url in fresh_queue_url(request.param, tmp_path):
        node = NodeKeys.generate()
        made = {}
        for mechanisms in ("anonymised", "named"):
            scopes, answers = interview_answers(mechanisms)
            made[mechanisms] = make_account(node, [reviewer("a")], scopes=scopes, answers=answers)
        put_accounts(url, node, list(made.values()))
        env = {
            "ATTEST_DATA_DIR": str(tmp_path / "data"),
            "ATTEST_QUEUE_URL": url,
            "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
        yield Exporting(env, made["anonymised"].sealed.account_id, made["named"].sealed.account_id)


def _sealed(mechanisms: str) -> dict[str, dict[str, Any]]:
    return {a["step"]: a for a in interview_answers(mechanisms)[1]}


def test_the_interview_put_the_canary_in_the_recall_the_follow_ups_and_their_questions() -> None:
    sealed = _sealed("anonymised")
    assert sealed["recall"]["value"] == RECALL and sealed["recall"]["kind"] == "free-text"
    assert sealed["recall-follow-up"]["value"] == FOLLOW_UP
    # The follow-up's question no longer quotes the recall (issue 12); exports still withhold
    # the questions of free-text answers, in case a flow's question holds the person's words.
    assert CANARY not in sealed["recall-follow-up"]["question"]
    assert sealed["harms"]["value"] == ["barred-education", "other"]
    assert CANARY in sealed["harms-other"]["value"]


@pytest.mark.parametrize("purpose", ["mechanisms", "reports"])
def test_an_anonymised_export_holds_no_free_text_but_keeps_the_choices(
    exporting: Exporting, purpose: str
) -> None:
    document = exporting.export("--purpose", purpose)
    anonymised = [a for a in document["accounts"] if a["sharing"] == "anonymised"]
    assert len(anonymised) == (1 if purpose == "mechanisms" else 2)
    assert CANARY not in json.dumps(anonymised, ensure_ascii=False)
    account = {a["account_id"]: a for a in document["accounts"]}[exporting.anonymised]
    assert account["sharing"] == "anonymised"
    sealed = _sealed("anonymised")
    answers = {a["step"]: a for a in account["answers"]}

    free_text = {s for s, a in sealed.items() if a["kind"] == "free-text" and not a["identifying"]}
    assert {"recall", "recall-follow-up", "harms-other"} <= free_text
    assert {s for s, a in answers.items() if a.get("withheld") == "free-text"} == free_text
    recall = answers["recall"]
    assert "value" not in recall and "question" not in recall and "sha256" not in recall
    assert recall["kind"] == "free-text" and recall["status"] == "answered"
    assert recall["section"] == sealed["recall"]["section"]
    assert recall["elements"] == sealed["recall"]["elements"]

    # Choices are as they were, with their questions; a date keeps its season and year.
    assert answers["harms"]["value"] == ["barred-education", "other"]
    assert answers["harms"]["question"] == sealed["harms"]["question"]
    assert answers["when-started"]["value"] == "2023-spring"
    assert answers["when-started"]["withheld"] == "date-detail"
    assert answers["consent-mechanisms"]["value"] == "anonymised"
    assert "withheld" not in answers["harms"]
    assert "place" not in answers  # identifying: dropped whole, as before

    rows = [r for r in exporting.csv_rows("--purpose", purpose) if r["sharing"] == "anonymised"]
    assert CANARY not in json.dumps(rows, ensure_ascii=False)
    mine = {r["step"]: r for r in rows if r["account_id"] == exporting.anonymised}
    assert mine["recall"]["withheld"] == "free-text" and mine["recall"]["value"] == ""
    assert mine["recall"]["question"] == "" and mine["recall"]["sha256"] == ""
    assert mine["harms"]["value"] == "barred-education; other" and mine["harms"]["withheld"] == ""


def test_text_sent_with_a_media_answer_is_withheld_too(exporting: Exporting) -> None:
    url, env = exporting.env["ATTEST_QUEUE_URL"], exporting.env
    node = NodeKeys.generate()
    voice = answer("voice", "Send a voice note if you like.", f"caption {CANARY}", kind="media")
    item = make_account(
        node,
        [reviewer("a")],
        scopes={"archive": "yes", "reports": "yes", "mechanisms": "anonymised"},
        answers=[voice],
    )
    put_accounts(url, node, [item])
    assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
    account = exporting.accounts("--purpose", "reports")[item.sealed.account_id]
    assert account["answers"] == [
        {
            "step": "voice",
            "kind": "media",
            "status": "answered",
            "labels": [],
            "section": "account",
            "elements": ["E1"],
            "identifying": False,
            "withheld": "free-text",
        }
    ]


def _audit_lines(exporting: Exporting, account_id: str) -> list[str]:
    shown = exporting.run("audit", "show", account_id).stdout
    return [line for line in shown.splitlines() if " exported " in line]


def test_include_free_text_keeps_it_and_the_audit_log_says_so(exporting: Exporting) -> None:
    exporting.export("--purpose", "mechanisms")
    document = exporting.export("--purpose", "mechanisms", "--include-free-text")
    account = {a["account_id"]: a for a in document["accounts"]}[exporting.anonymised]
    answers = {a["step"]: a for a in account["answers"]}
    assert answers["recall"]["value"] == RECALL
    assert answers["recall-follow-up"]["value"] == FOLLOW_UP
    assert (
        answers["recall-follow-up"]["question"]
        == _sealed("anonymised")["recall-follow-up"]["question"]
    )
    assert not any("withheld" in a for a in answers.values())
    # Still anonymised in every other way.
    assert "place" not in answers and "message_ids" not in answers["recall"]
    assert "files" not in account

    rows = exporting.csv_rows("--purpose", "reports", "--include-free-text")
    mine = {r["step"]: r for r in rows if r["account_id"] == exporting.anonymised}
    assert mine["recall"]["value"] == RECALL and mine["recall"]["withheld"] == ""

    first, second, third = _audit_lines(exporting, exporting.anonymised)
    assert '"free_text": "withheld"' in first and '"format": "json"' in first
    assert '"free_text": "included"' in second and '"format": "json"' in second
    assert '"free_text": "included"' in third and '"format": "csv"' in third
    assert CANARY not in "".join((first, second, third))
    # Shared with its name, an account's free text is there by its consent: entry as before.
    by_name = [
        line for line in _audit_lines(exporting, exporting.named) if '"sharing": "named"' in line
    ]
    assert len(by_name) == 2 and all("free_text" not in line for line in by_name)


def test_named_and_internal_exports_are_unchanged(exporting: Exporting) -> None:
    for args in (("--purpose", "mechanisms"), ("--internal",)):
        plain = exporting.export(*args)
        flagged = exporting.export(*args, "--include-free-text")
        named = {a["account_id"]: a for a in plain["accounts"]}[exporting.named]
        assert named["sharing"] in ("named", "internal")
        exported = {a["step"]: a for a in named["answers"]}
        for step, sealed in _sealed("named").items():
            assert exported[step]["value"] == sealed["value"]
            assert exported[step]["question"] == sealed["question"]
            assert exported[step]["sha256"] == sealed["sha256"]
            assert "withheld" not in exported[step]
        assert exported["recall"]["value"] == RECALL
        assert [a for a in plain["accounts"] if a["sharing"] != "anonymised"] == [
            a for a in flagged["accounts"] if a["sharing"] != "anonymised"
        ]
    internal = exporting.accounts("--internal")[exporting.anonymised]
    assert internal["sharing"] == "internal"
    assert {a["step"]: a for a in internal["answers"]}["recall"]["value"] == RECALL
