"""Checks that span steps: references, conditions, placeholders, reachability.

Called by `flows.loader.load_flow` once every step has been read on its own.
"""

from __future__ import annotations

from flows.errors import FlowError
from flows.spec import (
    CHOICE_KINDS,
    LABEL_CHARS,
    PLACEHOLDERS,
    Condition,
    Flow,
    Step,
    placeholders_in,
)

_STATUS_VALUES = ("dont-know", "prefer-not")


def validate_flow(flow: Flow) -> None:
    """Raise FlowError for the first cross-step mistake in `flow`."""
    _check_unique(flow)
    for step in flow.steps:
        _check_references(flow, step)
        _check_placeholders(flow, step)
    _check_singletons(flow)
    _check_endings(flow)
    _check_info_loops(flow)
    _check_reachable(flow)
    _check_topics(flow)
    _check_labels(flow)


def _fail(flow: Flow, line: int, reason: str) -> FlowError:
    return FlowError(flow.path, line, reason)


def _check_unique(flow: Flow) -> None:
    seen: set[str] = set()
    for step in flow.steps:
        if step.id in seen:
            raise _fail(flow, step.line_of("id"), f"duplicate step id {step.id!r}")
        seen.add(step.id)


def _check_references(flow: Flow, step: Step) -> None:
    def must_exist(target: str, line: int, what: str) -> None:
        if not flow.has_step(target):
            raise _fail(flow, line, f"{what} refers to unknown step {target!r}")

    if step.next is not None:
        must_exist(step.next, step.line_of("next"), "next")
    for option in step.options:
        if option.next is not None:
            must_exist(option.next, option.line_of("next"), f"option {option.id!r} next")
            ending = flow.step(option.next)
            if option.confirm and (ending.kind != "end" or ending.reason == "submitted"):
                raise _fail(
                    flow,
                    option.line_of("confirm"),
                    f"`confirm` asks before deleting: option {option.id!r} must lead to an end "
                    "that keeps nothing",
                )
    if step.section is not None and flow.section(step.section) is None:
        raise _fail(flow, step.line_of("section"), f"unknown section {step.section!r}")
    if step.topic is not None and not any(t.id == step.topic for t in flow.topics):
        raise _fail(flow, step.line_of("topic"), f"unknown topic {step.topic!r}")
    if step.quote_from is not None:
        must_exist(step.quote_from, step.line_of("quote_from"), "quote_from")
        if flow.step(step.quote_from).kind not in ("free-text",):
            raise _fail(flow, step.line_of("quote_from"), "quote_from must name a free-text step")
    for condition in step.ask_if:
        _check_condition(flow, condition)
    _check_documenter_fields(flow, step)
    for option in step.options:
        for condition in option.ask_if:
            _check_condition(flow, condition)
            if condition.step is not None and flow.index(condition.step) >= flow.index(step.id):
                raise _fail(
                    flow,
                    condition.line,
                    f"option {option.id!r} can depend only on an earlier step, "
                    f"not {condition.step!r}",
                )


def _check_condition(flow: Flow, condition: Condition) -> None:
    if condition.flag is not None:
        set_somewhere = any(condition.flag in o.flags for s in flow.steps for o in s.options)
        if not set_somewhere:
            raise _fail(flow, condition.line, f"no option sets the flag {condition.flag!r}")
        return
    assert condition.step is not None
    if not flow.has_step(condition.step):
        raise _fail(flow, condition.line, f"ask_if refers to unknown step {condition.step!r}")
    target = flow.step(condition.step)
    if not target.asks or target.kind == "review":
        raise _fail(flow, condition.line, f"ask_if step {target.id!r} asks nothing")
    values = condition.in_ or condition.not_in or ()
    if values and target.kind not in CHOICE_KINDS:
        raise _fail(
            flow,
            condition.line,
            f"`in`/`not_in` need a choice step; {target.id!r} is {target.kind}",
        )
    known = {o.id for o in target.options} | set(_STATUS_VALUES)
    if target.kind == "yes-no":
        known |= {"yes", "no"}
    for value in values:
        if value not in known:
            raise _fail(flow, condition.line, f"step {target.id!r} has no option {value!r}")


def _texts(step: Step) -> list[tuple[int, str]]:
    found = [(step.line_of("text"), step.text)]
    if step.explain is not None:
        found.append((step.line_of("explain"), step.explain))
    if step.skip_again is not None:
        found.append((step.line_of("skip_again"), step.skip_again))
    for option in step.options:
        found.append((option.line_of("text"), option.text))
        if option.reply is not None:
            found.append((option.line_of("reply"), option.reply))
    return found


def _check_placeholders(flow: Flow, step: Step) -> None:
    texts = _texts(step)
    for line, text in texts:
        for name in placeholders_in(text):
            if name not in PLACEHOLDERS:
                known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
                raise _fail(flow, line, f"unknown placeholder {{{name}}} (known: {known})")
            allowed = {
                "quote": step.quote_from is not None,
                "reference": step.kind == "end" and step.reason == "submitted",
                "answers": step.kind == "review",
            }.get(name, True)
            if not allowed:
                raise _fail(flow, line, f"{{{name}}} can only be used in {PLACEHOLDERS[name]}")
    for section in flow.sections:
        for name in placeholders_in(section.content_note or ""):
            if name not in PLACEHOLDERS or PLACEHOLDERS[name] is not None:
                raise _fail(
                    flow, section.line, f"placeholder {{{name}}} cannot be used in a content note"
                )


def _check_singletons(flow: Flow) -> None:
    for what, picked in (
        ("`review` step", [s for s in flow.steps if s.kind == "review"]),
        ("step with `sets: language`", [s for s in flow.steps if s.sets == "language"]),
    ):
        if len(picked) > 1:
            raise _fail(flow, picked[1].line, f"a flow can have only one {what}")
    scopes = {step.consent for step in flow.steps if step.consent is not None}
    submits = [s for s in flow.steps if s.kind == "end" and s.reason == "submitted"]
    if submits and "archive" not in scopes:
        raise _fail(flow, submits[0].line, "a flow that submits must ask `consent: archive` first")


def _check_endings(flow: Flow) -> None:
    for step in flow.steps:
        if step.kind != "end" and flow.default_next(step.id) is None:
            raise _fail(
                flow,
                step.line,
                f"step {step.id!r} is the last one but not an `end` step; add `next`",
            )
    if not any(s.kind == "end" for s in flow.steps):
        raise _fail(flow, flow.steps[-1].line, "the flow has no `end` step")


def _check_info_loops(flow: Flow) -> None:
    """Info steps that lead only to each other would never stop to ask anything."""
    for step in flow.steps:
        seen: list[str] = []
        current: str | None = step.id
        while current is not None and flow.step(current).kind == "info":
            if current in seen:
                raise _fail(
                    flow,
                    step.line,
                    f"info steps {' -> '.join([*seen, current])} go round in a circle",
                )
            seen.append(current)
            current = flow.default_next(current)


def _check_reachable(flow: Flow) -> None:
    # The review and language steps are also reached by engine commands.
    roots = [flow.start, *(s.id for s in (flow.review_step, flow.language_step) if s is not None)]
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(flow.successors(current))
    for step in flow.steps:
        if step.id not in seen:
            raise _fail(
                flow, step.line, f"step {step.id!r} can never be reached from {flow.start!r}"
            )


SOURCE_OPTIONS = ("seen", "told-by-person", "heard-from-others", "public-source")


def _check_documenter_fields(flow: Flow, step: Step) -> None:
    """`remember`, `source_of` and `language_from` (documenter mode)."""
    if (step.remember or step.source_of) and flow.mode != "documenter":
        key = "remember" if step.remember else "source_of"
        raise _fail(flow, step.line_of(key), f"`{key}` belongs in a documenter flow")
    if step.remember and step.kind not in ("single-choice", "yes-no"):
        raise _fail(flow, step.line_of("remember"), "`remember` belongs on a choice step")
    if step.source_of is not None:
        line = step.line_of("source_of")
        if not flow.has_step(step.source_of):
            raise _fail(flow, line, f"source_of refers to unknown step {step.source_of!r}")
        if step.kind != "single-choice" or tuple(o.id for o in step.options) != SOURCE_OPTIONS:
            raise _fail(
                flow, line, f"a source step is a single choice of {', '.join(SOURCE_OPTIONS)}"
            )
    if step.language_from is not None:
        line = step.line_of("language_from")
        if step.kind != "info":
            raise _fail(flow, line, "`language_from` belongs on an info step")
        if not flow.has_step(step.language_from):
            raise _fail(flow, line, f"language_from refers to unknown step {step.language_from!r}")
        if flow.step(step.language_from).kind != "single-choice":
            raise _fail(flow, line, "language_from must name a single-choice step")


def _check_topics(flow: Flow) -> None:
    """With topics, every answer the review can list names one (none is left out)."""
    if not flow.topics:
        return
    for step in flow.steps:
        if step.listed and step.topic is None:
            raise _fail(flow, step.line, f"step {step.id!r} needs a `topic` for the review")


def _check_labels(flow: Flow) -> None:
    """Every answer the review lists has its own label; no other step has one.

    The change list shows labels, never a question cut to fit: two alike in one list
    (a group of it, with topics) could not be told apart, nor typed.
    """
    reviewed = flow.review_step is not None
    named: dict[tuple[str | None, str], str] = {}
    for step in flow.steps:
        if step.label is None:
            if reviewed and step.listed:
                raise _fail(
                    flow,
                    step.line,
                    f"step {step.id!r} needs a `label`: a few words that name it in the "
                    f"review's list of answers to change (at most {LABEL_CHARS} characters)",
                )
            continue
        line = step.line_of("label")
        if not (reviewed and step.listed):
            raise _fail(
                flow,
                line,
                f"step {step.id!r} is not in the review's list of answers to change, "
                "so it takes no `label`",
            )
        key = (step.topic, step.label.casefold())
        if key in named:
            raise _fail(
                flow,
                line,
                f"step {step.id!r} has the label {step.label!r} of step {named[key]!r} in the "
                "same list: a person could not tell them apart",
            )
        named[key] = step.id
