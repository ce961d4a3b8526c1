"""A flow as values: Flow, Section, Step, Option, Condition (built by `flows.loader`).

Everything is frozen; `line` fields keep the YAML line a thing came from so later
checks (and the diagram) can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

KINDS: tuple[str, ...] = (
    "single-choice",
    "multiple-choice",
    "yes-no",
    "free-text",
    "approximate-date",
    "place",
    "media",
    "info",
    "review",
    "end",
)
CHOICE_KINDS: tuple[str, ...] = ("single-choice", "multiple-choice", "yes-no")
TEXT_KINDS: tuple[str, ...] = ("free-text", "approximate-date", "place")
# Kinds that wait for an answer (everything but info and end).
ASKING_KINDS: tuple[str, ...] = (*CHOICE_KINDS, *TEXT_KINDS, "media", "review")
END_REASONS: tuple[str, ...] = ("submitted", "declined", "not-safe", "not-eligible")
ELEMENTS: tuple[str, ...] = ("E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8")
MODES: tuple[str, ...] = ("survivor", "documenter")

# Consent scopes and the option ids each may record (storage and exports rely on them).
CONSENT_VALUES: dict[str, tuple[str, ...]] = {
    "archive": ("yes", "no"),
    "reports": ("yes", "no"),
    "mechanisms": ("anonymised", "named", "no"),
    "contact": ("yes", "no"),
    "referral": ("yes", "no"),
}
CONSENT_SECTION = "consent"

# A step's `label` names its answer in the review's "change an answer" list, one button a
# row: longer labels are cut by the phone ("When it sta…"), in any language.
LABEL_CHARS = 40

# States the engine adds to every flow; no step may use these ids.
ENGINE_STATES: tuple[str, ...] = (
    "new",
    "resume",
    "check-in",
    "stop",
    "more",
    "review-change",
    "withdraw-code",
    "confirm-delete",
)


@dataclass(frozen=True)
class Condition:
    """One `ask_if` test; exactly one of `step` or `flag` is set.

    With `step`: `in_` (answered with one of these option ids), `not_in` (not answered
    with any of them; a skip counts as not_in) or `answered` (answered at all).
    """

    line: int
    step: str | None = None
    in_: tuple[str, ...] | None = None
    not_in: tuple[str, ...] | None = None
    answered: bool | None = None
    flag: str | None = None


@dataclass(frozen=True)
class Option:
    """One answer a choice step offers; `id` is stable across flows and versions."""

    id: str
    text: str
    line: int
    next: str | None = None
    reply: str | None = None
    flags: tuple[str, ...] = ()
    exclusive: bool = False
    correct: bool = False
    confirm: bool = False
    # Offered only while these hold (an answer that no longer fits is asked again).
    ask_if: tuple[Condition, ...] = ()
    # The legal elements choosing this option supports (`flows.elements`); () maps it to
    # nothing on purpose, None means the flow file does not map it.
    elements: tuple[str, ...] | None = None
    key_lines: tuple[tuple[str, int], ...] = ()

    def line_of(self, key: str) -> int:
        """The line of `key` in the YAML, else the option's own line."""
        return dict(self.key_lines).get(key, self.line)


@dataclass(frozen=True)
class Section:
    """A group of steps; its content note is shown once, before its first step."""

    id: str
    line: int
    content_note: str | None = None


@dataclass(frozen=True)
class Topic:
    """A group of the review's change list ("When and where"); steps name it in `topic`."""

    id: str
    text: str
    line: int


@dataclass(frozen=True)
class Step:
    """One step of a flow: a question, an info message, the review, or an end."""

    id: str
    kind: str
    text: str
    line: int
    options: tuple[Option, ...] = ()
    next: str | None = None
    ask_if: tuple[Condition, ...] = ()
    section: str | None = None
    check_in: bool = False
    identifying: bool = False
    elements: tuple[str, ...] = ()
    consent: str | None = None
    skip_as: str | None = None
    dont_know: bool = False
    prefer_not: bool = False
    sets: str | None = None
    multi: bool = False
    media: bool = False
    quote_from: str | None = None
    explain: str | None = None
    skip_again: str | None = None
    reason: str | None = None
    # Documenter mode: `remember` keeps the answer for the documenter's next accounts
    # (their profile; not asked again while kept); `source_of` names the step whose
    # answer this one gives the source of; `language_from` shows an info step in the
    # language chosen at that step (the consent script in the interviewee's language).
    remember: bool = False
    source_of: str | None = None
    language_from: str | None = None
    # An answer about the conversation itself (safety, pace, understanding, the last
    # consent check): kept in the account, never listed at the review.
    process: bool = False
    # /skip is refused: the question needs an answer (the last consent check, where a
    # skip must never be taken as "yes, send it").
    needs_answer: bool = False
    topic: str | None = None
    # A few words naming the answer in the review's list of answers to change.
    label: str | None = None
    # "regions": the deployment's regions are offered before the step's own options.
    options_from: str | None = None
    key_lines: tuple[tuple[str, int], ...] = ()

    def line_of(self, key: str) -> int:
        """The line of `key` in the YAML, else the step's own line."""
        return dict(self.key_lines).get(key, self.line)

    @property
    def asks(self) -> bool:
        """True when the step waits for an answer."""
        return self.kind in ASKING_KINDS

    @property
    def listed(self) -> bool:
        """True when the review lists this step's answer and offers it for change.

        Not the language, not a `process` step (safety, pace, the last consent check),
        not a one-button step and not an understanding check: they say nothing about
        what happened.
        """
        return (
            self.asks
            and self.kind != "review"
            and self.sets is None
            and not self.process
            and len(self.options) != 1
            and not any(o.correct for o in self.options)
        )

    def option(self, option_id: str) -> Option | None:
        return self._options_by_id.get(option_id)

    # Every turn walks the flow once or twice, each walk asking every step on the path
    # the questions below: worked out once per step instead (bench/telegram.py).
    @cached_property
    def _options_by_id(self) -> dict[str, Option]:
        # The first option with an id wins, as a scan would find it.
        return {o.id: o for o in reversed(self.options)}

    @cached_property
    def conditional_options(self) -> tuple[Option, ...]:
        """The options offered only while their `ask_if` holds."""
        return tuple(o for o in self.options if o.ask_if)

    @cached_property
    def option_flag_sets(self) -> dict[str, frozenset[str]]:
        """The flags each option sets, for the options that set any."""
        return {o.id: frozenset(o.flags) for o in self.options if o.flags}


@dataclass(frozen=True)
class Flow:
    """A validated flow. `consent_hash` is the SHA-256 of its consent texts."""

    id: str
    version: str
    mode: str
    start: str
    sections: tuple[Section, ...]
    steps: tuple[Step, ...]
    path: str
    consent_hash: str
    closing: str | None = None
    topics: tuple[Topic, ...] = ()

    @cached_property
    def _positions(self) -> dict[str, int]:
        # Every turn walks the flow several times; a lookup must not scan the steps.
        return {step.id: i for i, step in enumerate(self.steps)}

    def step(self, step_id: str) -> Step:
        return self.steps[self._positions[step_id]]

    def has_step(self, step_id: str) -> bool:
        return step_id in self._positions

    def index(self, step_id: str) -> int:
        """The step's position in the file."""
        return self._positions[step_id]

    def passed_by_stop(self, step_id: str, stop_from: str | None) -> bool:
        """Whether a person who stopped early (at `stop_from`) is spared `step_id`.

        "Stop, and send what I shared" leads to the closing: the questions from where the
        person stopped up to the closing are passed over when they have no answer.
        """
        if stop_from is None or self.closing is None or not self.has_step(stop_from):
            return False
        return self.index(stop_from) <= self.index(step_id) < self.index(self.closing)

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def default_next(self, step_id: str) -> str | None:
        """The step after `step_id`: its `next`, else the following step in the file."""
        return self._default_next[step_id]

    @cached_property
    def _default_next(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for i, step in enumerate(self.steps):
            following = self.steps[i + 1].id if i + 1 < len(self.steps) else None
            found[step.id] = step.next if step.next is not None else following
        return found

    def successors(self, step_id: str) -> tuple[str, ...]:
        """Every step `step_id` may lead to directly (the flow graph's edges)."""
        step = self.step(step_id)
        if step.kind == "end":
            return ()
        found: list[str] = [o.next for o in step.options if o.next is not None]
        default = self.default_next(step_id)
        if default is not None:
            found.append(default)
        return tuple(dict.fromkeys(found))

    @property
    def language_step(self) -> Step | None:
        return next((s for s in self.steps if s.sets == "language"), None)

    @property
    def review_step(self) -> Step | None:
        return next((s for s in self.steps if s.kind == "review"), None)

    @cached_property
    def identifying_conditional(self) -> tuple[Step, ...]:
        """`identifying` steps asked only on a condition (the contact way, the code word)."""
        return tuple(s for s in self.steps if s.identifying and s.ask_if)


# Placeholders a text may use, and where they may appear (None: anywhere).
PLACEHOLDERS: dict[str, str | None] = {
    "org_name": None,
    "org_contact": None,
    "storage_location": None,
    "referral_partners": None,
    "draft_days": None,
    "account_keep": None,
    "referrals": None,
    "emergency": None,
    "child_protection": None,
    "quote": "a step with `quote_from`",
    "consent_summary": None,
    "reference": "the `submitted` end step",
    "answers": "the `review` step",
}
PLACEHOLDER_PATTERN = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


def placeholders_in(text: str) -> tuple[str, ...]:
    """Placeholder names used in `text`, in order."""
    return tuple(PLACEHOLDER_PATTERN.findall(text))
