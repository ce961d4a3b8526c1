"""Answers and finished accounts: hashing on receipt, and the account a submission yields."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime

from flows.path import walk
from flows.spec import Flow, Step
from flows.types import (
    Answer,
    AnswerRecord,
    AnswerStatus,
    ConsentRecord,
    FinishedAccount,
    Session,
)

_STATUS_LABELS = {"dont-know": "I don't know", "prefer-not": "Prefer not to say"}


def answer_sha256(value: str | tuple[str, ...] | None) -> str | None:
    """SHA-256 of the canonical UTF-8 answer: the text itself, or option ids as JSON."""
    if value is None:
        return None
    canonical = value if isinstance(value, str) else json.dumps(list(value))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def make_answer(
    step: str,
    status: AnswerStatus,
    now: datetime,
    value: str | tuple[str, ...] | None = None,
    parts: tuple[str, ...] = (),
    message_ids: tuple[int, ...] = (),
    files: tuple[str, ...] = (),
) -> Answer:
    return Answer(
        step=step,
        status=status,
        value=value,
        parts=parts,
        received_at=now,
        sha256=answer_sha256(value),
        message_ids=message_ids,
        files=files,
    )


def stop_from(session: Session) -> str | None:
    """Where the person stopped early to send what they had shared, if they did."""
    value = session.data.get("stop_from")
    return value if isinstance(value, str) else None


def effective_answers(flow: Flow, session: Session) -> list[tuple[Step, Answer]]:
    """The answers on the path the session's answers take through the flow, in order."""
    return walk(flow, session.answers, stop_from(session))[0]


def consent_scopes(flow: Flow, session: Session) -> dict[str, str]:
    """Consent scopes as the answers on the path give them; not answered "yes" means no."""
    scopes: dict[str, str] = {}
    for step, answer in effective_answers(flow, session):
        if step.consent is None:
            continue
        answered = answer.status == "answered" and isinstance(answer.value, str)
        scopes[step.consent] = str(answer.value) if answered else (step.skip_as or "no")
    return scopes


def english_labels(
    step: Step, answer: Answer, regions: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """The English source labels of the chosen options (what reviewers read).

    `regions`: the deployment's region codes and English names (`options_from: regions`).
    """
    if answer.status in _STATUS_LABELS:
        return (_STATUS_LABELS[answer.status],)
    if answer.status != "answered" or answer.value is None:
        return ()
    chosen = answer.value if isinstance(answer.value, tuple) else (answer.value,)
    if step.kind == "yes-no" and not step.options:
        return tuple({"yes": "Yes", "no": "No"}.get(v, v) for v in chosen)
    if not step.options:
        return ()
    named = dict(regions or {}) if step.options_from == "regions" else {}
    return tuple(
        (step.option(v).text if step.option(v) else named.get(v, v))  # type: ignore[union-attr]
        for v in chosen
    )


def build_account(
    flow: Flow,
    session: Session,
    consent: ConsentRecord,
    reference: str,
    now: datetime,
    question: Callable[[Step], str] = lambda step: step.text,
    regions: Mapping[str, str] | None = None,
) -> FinishedAccount:
    """The FinishedAccount of a submitted session, for storage to seal.

    `question` gives the question as the reviewers read it: the English source with its
    placeholders filled (the person's own words in a follow-up, the organisation's name).
    """
    walked = effective_answers(flow, session)
    # Documenter mode: each `source_of` step's answer is stored on the answer it is about.
    sources = {
        step.source_of: answer.value
        for step, answer in walked
        if step.source_of and answer.status == "answered" and isinstance(answer.value, str)
    }
    records = tuple(
        AnswerRecord(
            step=step.id,
            question=question(step),
            kind=step.kind,
            status=answer.status,
            value=answer.value,
            labels=english_labels(step, answer, regions),
            section=step.section,
            identifying=step.identifying,
            elements=step.elements,
            received_at=answer.received_at,
            sha256=answer.sha256,
            message_ids=answer.message_ids,
            files=answer.files,
            source=sources.get(step.id),
        )
        for step, answer in walked
    )
    return FinishedAccount(
        flow=flow.id,
        flow_version=flow.version,
        language=session.language,
        mode=flow.mode,
        urgent="urgent" in session.flags,
        consent=consent,
        answers=records,
        reference_code=reference,
        started_at=session.started_at,
        submitted_at=now,
        documenter=session.data.get("documenter") if flow.mode == "documenter" else None,
    )
