"""Which legal elements of gender persecution an account's answers support: an aid, not a finding.

Gender persecution (Rome Statute art. 7(1)(h)) is charged element by element. A step's
`elements:` says which elements it may inform; that alone would make any answered recall
look like support for all eight. Support therefore comes only from answered choice
steps, through the map each option carries in the flow file (`elements: [E1, E4]`, or
`elements: []` for an option that supports nothing). An answered free text (or date, or
place) on a step with elements is "possibly": only a person reading it can tell.
Skipped, "I don't know" and "prefer not to say" answers support nothing.

`element_map_problems` is what `attest flows check` runs over the map.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flows.shared import SHARED_LISTS
from flows.spec import CHOICE_KINDS, ELEMENTS, TEXT_KINDS, Flow

SUPPORTED = "supported"
POSSIBLY = "possibly"
NOT_SHOWN = "none"

# The elements as the desk names them (English source texts, gettext msgids).
ELEMENT_TITLES: dict[str, str] = {
    "E1": "Severe deprivation of fundamental rights",
    "E2": "Targeted by reason of the identity of a group",
    "E3": "Gender, and intersecting grounds",
    "E4": "Connected with another crime",
    "E5": "Widespread or systematic",
    "E6": "A state or organisational policy",
    "E7": "Who did it",
    "E8": "Knowledge",
}


@dataclass(frozen=True)
class Evidence:
    """One answer that bears on an element: the step, and the options that support it."""

    step: str
    options: tuple[str, ...] = ()  # empty for a free text (possibly)


@dataclass(frozen=True)
class ElementSupport:
    """One element for one account: supported, possibly, or nothing shown by the answers."""

    element: str
    level: str
    supporting: tuple[Evidence, ...] = ()  # answered choices whose options map to it
    to_read: tuple[Evidence, ...] = ()  # answered free texts that may bear on it


def _answered(answer: Mapping[str, Any]) -> bool:
    return answer.get("status") == "answered" and answer.get("value") not in (None, "", [], ())


def _chosen(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value or ())


def element_support(
    flow: Flow | None, answers: Iterable[Mapping[str, Any]]
) -> list[ElementSupport]:
    """Support for E1…E8 from an account's answers (dicts as in the sealed account).

    A step the flow no longer has (an account of an older version) is read from the
    answer's own `elements` as possibly; its choices support nothing without a map.
    """
    supporting: dict[str, list[Evidence]] = {e: [] for e in ELEMENTS}
    to_read: dict[str, list[Evidence]] = {e: [] for e in ELEMENTS}
    for answer in answers:
        if not _answered(answer):
            continue
        step_id = str(answer.get("step"))
        step = flow.step(step_id) if flow is not None and flow.has_step(step_id) else None
        kind = step.kind if step is not None else str(answer.get("kind"))
        if kind in CHOICE_KINDS:
            if step is None:
                continue
            by_element: dict[str, list[str]] = {}
            for option_id in _chosen(answer.get("value")):
                option = step.option(option_id)
                for element in (option.elements or ()) if option is not None else ():
                    by_element.setdefault(element, []).append(option_id)
            for element, options in by_element.items():
                supporting[element].append(Evidence(step_id, tuple(options)))
        elif kind in TEXT_KINDS:
            named = step.elements if step is not None else tuple(answer.get("elements") or ())
            for element in named:
                if element in to_read:
                    to_read[element].append(Evidence(step_id))
    result = []
    for element in ELEMENTS:
        if supporting[element]:
            level = SUPPORTED
        elif to_read[element]:
            level = POSSIBLY
        else:
            level = NOT_SHOWN
        result.append(
            ElementSupport(element, level, tuple(supporting[element]), tuple(to_read[element]))
        )
    return result


def lacking(support: Iterable[ElementSupport]) -> frozenset[str]:
    """Elements no answered choice supports (possibly counts as lacking: it is unread)."""
    return frozenset(s.element for s in support if s.level != SUPPORTED)


def element_map_problems(flows: Mapping[str, Flow]) -> list[str]:
    """One line per flaw in the option-level element map of the flows.

    Every option of a choice step that names elements, and of every shared list, must
    say what it supports (`elements: []` for nothing); an option may name only elements
    its step names; a shared list's options must map alike in every flow.
    """
    problems: list[str] = []
    for flow in sorted(flows.values(), key=lambda f: f.id):
        for step in flow.steps:
            if step.kind not in CHOICE_KINDS:
                if any(o.elements is not None for o in step.options):
                    problems.append(f"{flow.id}: {step.id}: only choice options map elements")
                continue
            must_map = bool(step.elements) or step.id in SHARED_LISTS
            for option in step.options:
                if option.elements is None:
                    if must_map:
                        problems.append(
                            f"{flow.id}: {step.id}: option {option.id!r} maps no elements "
                            f"(line {option.line}; write `elements: []` for none)"
                        )
                    continue
                extra = sorted(set(option.elements) - set(step.elements))
                if extra:
                    problems.append(
                        f"{flow.id}: {step.id}: option {option.id!r} names {', '.join(extra)}, "
                        f"which the step does not (line {option.line_of('elements')})"
                    )
    for step_id in SHARED_LISTS:
        maps = {
            f.id: {o.id: tuple(sorted(o.elements or ())) for o in f.step(step_id).options}
            for f in flows.values()
            if f.has_step(step_id)
        }
        if len({tuple(sorted(m.items())) for m in maps.values()}) > 1:
            problems.append(f"{step_id}: the flows map its options to different elements")
    return problems


__all__ = [
    "ELEMENT_TITLES",
    "NOT_SHOWN",
    "POSSIBLY",
    "SUPPORTED",
    "ElementSupport",
    "Evidence",
    "element_map_problems",
    "element_support",
    "lacking",
]
