"""The elements view: E1–E8 for one account, and the case summary across accounts.

An aid for the reviewer, never a legal finding: it says which answered choices support
each element through the flow file's option map (`flows.elements`), and which answered
free texts a person must read to know. The case summary lists, per element, the accounts
(by id) whose answers support it, across the queue's filters, to print.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flows.elements import (
    ELEMENT_TITLES,
    NOT_SHOWN,
    POSSIBLY,
    SUPPORTED,
    ElementSupport,
    element_support,
)
from flows.i18n import N_
from flows.spec import ELEMENTS, Flow
from flows.types import Translator
from review.desk.app import Desk, to_unlock
from review.desk.facts import AccountFacts, DeskTrust, lacks_of, left_out_lines, shipped_flows

LEVEL_TEXTS = {
    SUPPORTED: N_("Answers support it"),
    POSSIBLY: N_("Possibly: read the answer"),
    NOT_SHOWN: N_("Not shown by the answers"),
}
# The titles of flows.elements, marked here so the catalogs carry them.
_TITLES = (
    N_("Severe deprivation of fundamental rights"),
    N_("Targeted by reason of the identity of a group"),
    N_("Gender, and intersecting grounds"),
    N_("Connected with another crime"),
    N_("Widespread or systematic"),
    N_("A state or organisational policy"),
    N_("Who did it"),
    N_("Knowledge"),
)


@dataclass(frozen=True)
class ShownReason:
    """One answer behind an element: its number on the page, question and chosen labels."""

    number: int | None
    question: str
    labels: str


@dataclass(frozen=True)
class ShownElement:
    element: str
    title: str
    level: str
    level_text: str
    supporting: tuple[ShownReason, ...]
    to_read: tuple[ShownReason, ...]


def element_title(element: str, t: Translator) -> str:
    return t.gettext(ELEMENT_TITLES[element])


def shown_elements(
    support: Sequence[ElementSupport],
    flow: Flow | None,
    answers: Sequence[Mapping[str, Any]],
    t: Translator,
) -> list[ShownElement]:
    """The elements view of one account, in the reviewer's language."""
    numbers = {str(a.get("step")): n for n, a in enumerate(answers, start=1)}
    questions = {str(a.get("step")): str(a.get("question") or a.get("step")) for a in answers}

    def option_label(step_id: str, option_id: str) -> str:
        step = flow.step(step_id) if flow is not None and flow.has_step(step_id) else None
        option = step.option(option_id) if step is not None else None
        return t.gettext(option.text) if option is not None else option_id

    def reason(step_id: str, options: tuple[str, ...]) -> ShownReason:
        return ShownReason(
            numbers.get(step_id),
            t.gettext(questions.get(step_id, step_id)),
            ", ".join(option_label(step_id, o) for o in options),
        )

    return [
        ShownElement(
            element=s.element,
            title=element_title(s.element, t),
            level=s.level,
            level_text=t.gettext(LEVEL_TEXTS[s.level]),
            supporting=tuple(reason(e.step, e.options) for e in s.supporting),
            to_read=tuple(reason(e.step, ()) for e in s.to_read),
        )
        for s in support
    ]


def elements_of(body: Mapping[str, Any], t: Translator) -> list[ShownElement]:
    """The elements view of an opened account body."""
    flow = shipped_flows().get(str(body.get("flow")))
    answers = [a for a in body.get("answers", []) if isinstance(a, Mapping)]
    return shown_elements(element_support(flow, answers), flow, answers, t)


@dataclass(frozen=True)
class SummaryRow:
    """One element across the filtered accounts: who supports it, who may, who does not."""

    element: str
    title: str
    supporting: tuple[str, ...]  # account ids
    possibly: tuple[str, ...]
    lacking: int


def case_summary(facts: Sequence[AccountFacts], t: Translator) -> list[SummaryRow]:
    """Per element, the accounts whose answers support it (pure)."""
    rows = []
    for element in ELEMENTS:
        levels = [(f.account_id, f.level(element)) for f in facts]
        rows.append(
            SummaryRow(
                element=element,
                title=element_title(element, t),
                supporting=tuple(i for i, level in levels if level == SUPPORTED),
                possibly=tuple(i for i, level in levels if level == POSSIBLY),
                lacking=sum(1 for _i, level in levels if level == NOT_SHOWN),
            )
        )
    return rows


def routes(desk: Desk) -> list[Route]:
    from review.desk.queue_page import filters_of

    async def summary(request: Request) -> Response:
        key = desk.key(request)
        if key is None:
            return to_unlock()
        filters, shown, bad = filters_of(request.query_params, key.fingerprint)
        lacks, bad_lacks = lacks_of(request.query_params)
        bad = bad or bad_lacks
        shown["lacks"] = lacks or ""

        def read() -> Any:
            ctx = desk.ctx
            opened = desk.facts.open_all(
                ctx.queue, key, ctx.pins, desk.lock.csrf, filters, trust=DeskTrust.of(ctx)
            )
            ctx.witness_advance()
            facts = [f for f in opened.facts if lacks is None or f.level(lacks) != SUPPORTED]
            return facts, opened.left_out

        facts, left_out = await desk.run(read)
        if bad:
            desk.notice(
                request,
                desk.t.gettext(
                    "A filter could not be read and was left out. Dates are YYYY-MM-DD."
                ),
            )
        return desk.page(
            "case_summary.html",
            request=request,
            rows=case_summary(facts, desk.t),
            total=len(facts),
            left_out=left_out_lines(left_out, desk.t.gettext),
            shown=shown,
            me=key.fingerprint,
        )

    return [Route("/summary", summary, methods=["GET"])]


__all__ = [
    "ShownElement",
    "SummaryRow",
    "case_summary",
    "elements_of",
    "routes",
    "shown_elements",
]
