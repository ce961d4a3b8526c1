"""Accounts with structured answers, for the elements view, patterns and case summary tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flows.loader import load_flows
from storage.crypto import NodeKeys
from storage.crypto.reviewer import ReviewerPrivateKey
from storage.sync import OutgoingAccount
from tests.queue_support import FULL_SCOPES, T0, answer, make_account, put_accounts, reviewer

SURVIVOR = load_flows()["survivor"]


def choice(step_id: str, chosen: list[str] | str) -> dict[str, Any]:
    """An answered choice step, with the question and labels the flow gives it."""
    step = SURVIVOR.step(step_id)
    values = [chosen] if isinstance(chosen, str) else chosen
    record = answer(step_id, step.text, chosen, kind=step.kind)
    record["labels"] = [o.text for v in values if (o := step.option(v)) is not None]
    record["elements"] = list(step.elements)
    return record


def pattern_account(
    node: NodeKeys,
    *,
    harms: list[str] | None = None,
    perpetrators: list[str] | None = None,
    grounds: list[str] | None = None,
    when: str | None = None,
    region: str | None = None,
    recall: str | None = None,
    scopes: dict[str, str] | None = None,
    reviewers: list[ReviewerPrivateKey] | None = None,
) -> OutgoingAccount:
    answers: list[dict[str, Any]] = []
    if recall is not None:
        record = answer("recall", SURVIVOR.step("recall").text, recall)
        record["elements"] = list(SURVIVOR.step("recall").elements)
        answers.append(record)
    for step_id, value in (("harms", harms), ("perpetrators", perpetrators), ("grounds", grounds)):
        if value is not None:
            answers.append(choice(step_id, value))
    if when is not None:
        answers.append(answer("when-started", SURVIVOR.step("when-started").text, when))
    if region is not None:
        answers.append(choice("region", region))
    return make_account(
        node, reviewers or [reviewer("a")], scopes=dict(scopes or FULL_SCOPES), answers=answers
    )


def put_pattern_accounts(url: str, node: NodeKeys) -> list[str]:
    """Seven accounts of one pattern (morality police, dress rules, 2023), and one the
    reviewer cannot open (sealed to another team's key). Returns the ids, in that order."""
    items = [
        pattern_account(
            node,
            harms=["dress-appearance-rules", "detention-arrest-abduction"],
            perpetrators=["morality-police"],
            grounds=["woman-or-girl"],
            when="spring 2023",
            region="elsewhere",
            recall="They stopped us at the checkpoint.",
        )
        for _ in range(6)
    ]
    items.append(
        pattern_account(
            node,
            harms=["barred-education"],
            perpetrators=["unknown"],
            when="last year",
            scopes={"archive": "yes", "reports": "no", "mechanisms": "no"},
        )
    )
    items.append(pattern_account(node, harms=["sexual-violence"], reviewers=[reviewer("b")]))
    for n, item in enumerate(items):
        put_accounts(url, node, [item], T0 + timedelta(hours=1, minutes=n))
    return [item.sealed.account_id for item in items]


__all__ = ["choice", "pattern_account", "put_pattern_accounts"]
