"""The path a session's answers take through its flow: which answers count, which flags hold.

Walking from the start with the answers given so far decides everything that depends on
answers: conditions, flags, the answers the review lists and the account carries. An
answer left on a branch the person has since turned away from (by going back or by
changing an answer at the review) drops out by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.spec import Condition, Flow, Step
from flows.types import Answer


def chosen(answer: Answer | None) -> set[str]:
    """What an answer picked: option ids, or its status for "I don't know" / "Prefer not"."""
    if answer is None or answer.status == "skip":
        return set()
    if answer.status != "answered":
        return {answer.status}
    if isinstance(answer.value, tuple):
        return set(answer.value)
    return {answer.value} if answer.value is not None else set()


def holds(condition: Condition, answers: Mapping[str, Answer], flags: frozenset[str]) -> bool:
    """Whether one `ask_if` condition holds for these answers and flags."""
    if condition.flag is not None:
        return condition.flag in flags
    answer = answers.get(condition.step or "")
    if condition.answered is not None:
        return (answer is not None and answer.status == "answered") == condition.answered
    if condition.in_ is not None:
        return bool(chosen(answer) & set(condition.in_))
    return not chosen(answer) & set(condition.not_in or ())


def should_ask(step: Step, answers: Mapping[str, Answer], flags: frozenset[str]) -> bool:
    """Whether `step` is asked (not passed over) given the answers before it."""
    if step.quote_from is not None:
        quoted = answers.get(step.quote_from)
        if quoted is None or quoted.status != "answered" or not isinstance(quoted.value, str):
            return False
    return not step.ask_if or all(holds(c, answers, flags) for c in step.ask_if)


def closed_off(step: Step, answers: Mapping[str, Answer]) -> bool:
    """True when a condition of `step` on another step's answer no longer holds.

    Judged on the answers as they stand (not the path, which stops at the first question
    without an answer); flag conditions are left out, as flags follow the path.
    """
    return any(c.flag is None and not holds(c, answers, frozenset()) for c in step.ask_if)


def offered(step: Step, answers: Mapping[str, Answer], flags: frozenset[str]) -> set[str]:
    """The ids of the options `step` offers now (an option's `ask_if` may hold it back)."""
    return {o.id for o in step.options if all(holds(c, answers, flags) for c in o.ask_if)}


def fits(step: Step, answer: Answer, answers: Mapping[str, Answer], flags: frozenset[str]) -> bool:
    """False for an answer naming an option that is no longer offered: it is asked again."""
    conditional = step.conditional_options
    if not conditional or answer.status != "answered":
        return True
    picked = chosen(answer)
    return not any(
        o.id in picked and not all(holds(c, answers, flags) for c in o.ask_if) for o in conditional
    )


def route(flow: Flow, step: Step, answer: Answer) -> str | None:
    """Where an answered step leads: the chosen option's `next`, `skip_as`'s, or on."""
    if answer.status == "answered" and isinstance(answer.value, str):
        option = step.option(answer.value)
    else:
        option = step.option(step.skip_as) if step.skip_as and answer.status != "answered" else None
    if option is not None and option.next:
        return option.next
    return flow.default_next(step.id)


def stand_in(step: Step, answer: Answer) -> str | None:
    """The option a skip (or "I don't know", "Prefer not to say") is taken as: `skip_as`.

    Its route, reply and flags apply (a skipped "was it recent?" still shows the medical
    information and marks the account urgent); the stored status stays what it was.
    """
    return step.skip_as if answer.status != "answered" else None


def option_flags(step: Step, answer: Answer) -> set[str]:
    flagged = step.option_flag_sets
    if not flagged:
        return set()
    picked = chosen(answer) if answer.status == "answered" else set()
    standing_in = stand_in(step, answer)
    if standing_in is not None:
        picked = {standing_in}
    return {flag for option_id in picked if option_id in flagged for flag in flagged[option_id]}


def walk(
    flow: Flow, answers: Mapping[str, Answer], stop_from: str | None = None
) -> tuple[list[tuple[Step, Answer]], frozenset[str]]:
    walked = _walk(flow, answers, stop_from)
    return walked.path, walked.flags


def next_unanswered(
    flow: Flow, answers: Mapping[str, Answer], stop_from: str | None = None
) -> str | None:
    """The first step on the path that asks and has no answer yet (None: an end)."""
    return _walk(flow, answers, stop_from).stopped_at


@dataclass(frozen=True)
class Walked:
    """A walk's path and flags, and how far it went: a walk can go on from where it stopped.

    `stopped_at`: the first step on the path asking with no answer (None: an end or a
    circle). `read` holds every step the walk passed before it; its outcome up to
    `stopped_at` depended on no other answers than theirs.
    """

    path: list[tuple[Step, Answer]]
    flags: frozenset[str]
    stopped_at: str | None
    answers: Mapping[str, Answer]
    stop_from: str | None
    on_path: dict[str, Answer]
    read: frozenset[str]


def walk_on(
    flow: Flow, answers: Mapping[str, Answer], stop_from: str | None, earlier: Walked | None
) -> Walked:
    """The walk of `answers`, going on from `earlier` where that gives the same walk.

    A turn walks before and after recording an answer; the answer is usually to the step
    the first walk stopped at, and everything before it stays as it was, so the second
    walk starts there instead of at the start. It does whenever every step `earlier`
    passed has the very same answer (or none) in `answers`, and `stop_from` is the same.
    """
    if (
        earlier is not None
        and earlier.stopped_at is not None
        and earlier.stop_from == stop_from
        and all(answers.get(s) is earlier.answers.get(s) for s in earlier.read)
    ):
        return _walk(flow, answers, stop_from, earlier)
    return _walk(flow, answers, stop_from)


def _walk(
    flow: Flow,
    answers: Mapping[str, Answer],
    stop_from: str | None = None,
    earlier: Walked | None = None,
) -> Walked:
    """The answered steps on the path from the start, in order, and the flags they set.

    The walk passes info and review steps, passes over steps whose conditions fail, and
    stops at the first step that asks and has no answer yet, or at an end. For a person
    who stopped early (`stop_from`: where they stopped) an unanswered question from there
    on leads to the flow's closing instead (`Flow.passed_by_stop`). With `earlier` (see
    `walk_on`) it goes on from the step that walk stopped at.
    """
    if earlier is not None:
        path = list(earlier.path)
        flags = earlier.flags
        on_path = dict(earlier.on_path)
        seen = set(earlier.read)
        current: str | None = earlier.stopped_at
    else:
        path = []
        flags = frozenset()
        on_path = {}
        seen = set()
        current = flow.start
    while current is not None and current not in seen:
        step = flow.step(current)
        if step.kind == "end":
            break
        if step.kind in ("info", "review") or not should_ask(step, on_path, flags):
            seen.add(current)
            current = flow.default_next(step.id)
            continue
        answer = answers.get(step.id)
        if answer is not None and not fits(step, answer, on_path, flags):
            answer = None
        if answer is None and flow.passed_by_stop(step.id, stop_from):
            seen.add(current)
            current = flow.closing
            continue
        if answer is None:
            return Walked(path, flags, step.id, answers, stop_from, on_path, frozenset(seen))
        seen.add(current)
        path.append((step, answer))
        on_path[step.id] = answer
        more = option_flags(step, answer)
        if more and not more <= flags:
            flags = flags | more
        current = route(flow, step, answer)
    return Walked(path, flags, None, answers, stop_from, on_path, frozenset(seen))
