"""The flow loader: every kind of mistake is reported as FILE:LINE: reason, at the exact line.

Each case marks the line the error must point at with `# <-`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flows.loader import FlowError, load_flow, load_flows

ROOT = Path(__file__).resolve().parents[1]

CASES: dict[str, tuple[str, str]] = {
    "yaml syntax": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: [yes-no
            text: x  # <-
        """,
        "YAML syntax error: expected ',' or ']', but got ':'",
    ),
    "unknown top-level key": (
        """
        id: t
        version: "1"
        flavour: sweet  # <-
        start: a
        steps: []
        """,
        "unknown key 'flavour' in the flow (known: id, version, mode, start, closing, sections, topics, steps)",
    ),
    "unknown step key": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Ok?
            colour: red  # <-
        """,
        "unknown key 'colour' in a step (known: id, kind, text, options, next, ask_if, section, "
        "check_in, identifying, elements, consent, skip_as, dont_know, prefer_not, sets, multi, "
        "media, quote_from, explain, skip_again, reason, remember, source_of, language_from, "
        "process, topic, options_from, label, needs_answer)",
    ),
    "duplicate key": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Ok?
            text: Really?  # <-
        """,
        "duplicate key 'text' in a step",
    ),
    "missing text": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a  # <-
            kind: yes-no
          - {id: b, kind: end, reason: declined, text: Bye.}
        """,
        "step 'a' needs `text`",
    ),
    "empty text": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: "  "  # <-
          - {id: b, kind: end, reason: declined, text: Bye.}
        """,
        "text is empty",
    ),
    "bad kind": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: essay  # <-
            text: Tell me.
        """,
        "bad kind 'essay' (one of: single-choice, multiple-choice, yes-no, free-text, "
        "approximate-date, place, media, info, review, end)",
    ),
    "bad reason": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: end
            reason: bored  # <-
            text: Bye.
        """,
        "bad reason 'bored' (one of: submitted, declined, not-safe, not-eligible)",
    ),
    "end without reason": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a  # <-
            kind: end
            text: Bye.
        """,
        "end step 'a' needs `reason`",
    ),
    "duplicate step id": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: yes-no, text: "Ok?"}
          - id: a  # <-
            kind: end
            reason: declined
            text: Bye.
        """,
        "duplicate step id 'a'",
    ),
    "duplicate option id": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            options:
              - {id: one, text: One}
              - {id: one, text: Also one}  # <-
        """,
        "duplicate option id 'one' in step 'a'",
    ),
    "unknown step in next": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Ok?
            next: nowhere  # <-
          - {id: b, kind: end, reason: declined, text: Bye.}
        """,
        "next refers to unknown step 'nowhere'",
    ),
    "unknown step in option next": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            options:
              - id: one
                text: One
                next: nowhere  # <-
          - {id: b, kind: end, reason: declined, text: Bye.}
        """,
        "option 'one' next refers to unknown step 'nowhere'",
    ),
    "unknown step in ask_if": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Ok?
            ask_if: {step: ghost, answered: true}  # <-
          - {id: b, kind: end, reason: declined, text: Bye.}
        """,
        "ask_if refers to unknown step 'ghost'",
    ),
    "unknown option in ask_if": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: yes-no, text: "Ok?"}
          - id: b
            kind: free-text
            text: Tell me.
            ask_if:
              - {step: a, in: [maybe]}  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "step 'a' has no option 'maybe'",
    ),
    "unknown flag in ask_if": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: yes-no, text: "Ok?"}
          - id: b
            kind: free-text
            text: Tell me.
            ask_if: {flag: urgent}  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "no option sets the flag 'urgent'",
    ),
    "unknown step in quote_from": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: free-text
            text: You said {quote}?
            quote_from: ghost  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "quote_from refers to unknown step 'ghost'",
    ),
    "unknown placeholder": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Hello {first_name}?  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "unknown placeholder {first_name} (known: {org_name}, {org_contact}, "
        "{storage_location}, {referral_partners}, {draft_days}, {account_keep}, {referrals}, {emergency}, {child_protection}, {quote}, "
        "{consent_summary}, {reference}, {answers})",
    ),
    "placeholder in the wrong step": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Your code is {reference}.  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "{reference} can only be used in the `submitted` end step",
    ),
    "correct without explain": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a  # <-
            kind: single-choice
            text: Can you skip?
            options:
              - {id: yes, text: Yes, correct: true}
              - {id: no, text: No}
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "step 'a' has a `correct` option but no `explain` text",
    ),
    "unreachable step": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: yes-no, text: "Ok?", next: c}
          - id: b  # <-
            kind: free-text
            text: Never asked.
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "step 'b' can never be reached from 'a'",
    ),
    "running off the end": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: z, kind: end, reason: declined, text: Bye., }
          - id: a  # <-
            kind: yes-no
            text: Ok?
        """,
        "step 'a' is the last one but not an `end` step; add `next`",
    ),
    "info steps in a circle": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: yes-no, text: "Ok?"}
          - id: b  # <-
            kind: info
            text: Hello.
          - {id: c, kind: info, text: Again., next: b}
          - {id: z, kind: end, reason: declined, text: Bye.}
        """,
        "info steps b -> c -> b go round in a circle",
    ),
    "missing steps": (
        """
        id: t  # <-
        version: "1"
        start: a
        """,
        "the flow needs `steps`",
    ),
    "bad mode": (
        """
        id: t
        version: "1"
        mode: auditor  # <-
        start: a
        steps: []
        """,
        "bad mode 'auditor' (one of: survivor, documenter)",
    ),
    "option without text": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            options:
              - id: one  # <-
        """,
        "option 'one' needs `text`",
    ),
    "explain without a correct option": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: "Ok?"
            explain: Because.  # <-
        """,
        "`explain` needs an option marked `correct: true`",
    ),
    "yes-no with other options": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: "Ok?"
            options:  # <-
              - {id: sure, text: Sure}
              - {id: no, text: No}
        """,
        "yes-no step 'a' options must be `yes` and `no`",
    ),
    "multi on a choice step": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: "Ok?"
            multi: true  # <-
        """,
        "`multi` belongs on a free-text step",
    ),
    "sets on a text step": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: free-text
            text: Language?
            sets: language  # <-
        """,
        "`sets: language` belongs on a single-choice step",
    ),
    "check-in on an info step": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: info
            text: Hello.
            check_in: true  # <-
        """,
        "`check_in` belongs on a step that asks something",
    ),
    "skip_as not an option": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            skip_as: none  # <-
            options:
              - {id: one, text: One}
        """,
        "skip_as 'none' is not an option of step 'a'",
    ),
    "condition with step and flag": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: "Ok?"
            ask_if: {step: a, flag: urgent, answered: true}  # <-
        """,
        "a condition needs exactly one of `step` or `flag`",
    ),
    "condition on a step that asks nothing": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: info, text: Hello.}
          - id: b
            kind: yes-no
            text: "Ok?"
            ask_if: {step: a, answered: true}  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "ask_if step 'a' asks nothing",
    ),
    "in on a text step": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: free-text, text: Tell me.}
          - id: b
            kind: yes-no
            text: "Ok?"
            ask_if: {step: a, in: [x]}  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "`in`/`not_in` need a choice step; 'a' is free-text",
    ),
    "placeholder in a content note": (
        """
        id: t
        version: "1"
        start: a
        sections:
          - id: s  # <-
            content_note: You said {quote}.
        steps:
          - {id: a, kind: end, reason: declined, text: Bye.}
        """,
        "placeholder {quote} cannot be used in a content note",
    ),
    "two review steps": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: review, text: "{answers}"}
          - id: b  # <-
            kind: review
            text: "{answers}"
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "a flow can have only one `review` step",
    ),
    "no end step": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: yes-no, text: "Ok?", next: b}
          - id: b  # <-
            kind: yes-no
            text: "Sure?"
            next: a
        """,
        "the flow has no `end` step",
    ),
    "unknown start": (
        """
        id: t
        version: "1"
        start: ghost  # <-
        steps:
          - {id: a, kind: end, reason: declined, text: Bye.}
        """,
        "start step 'ghost' does not exist",
    ),
    "flow id not the file name": (
        """
        id: other  # <-
        version: "1"
        start: a
        steps:
          - {id: a, kind: end, reason: declined, text: Bye.}
        """,
        "flow id 'other' must match the file name 't'",
    ),
    "bad id characters": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: Step_One  # <-
            kind: yes-no
            text: Ok?
        """,
        "step id 'Step_One' must use only a-z, 0-9 and '-'",
    ),
    "reserved step id": (
        """
        id: t
        version: "1"
        start: more
        steps:
          - id: more  # <-
            kind: yes-no
            text: Ok?
        """,
        "step id 'more' is reserved for the engine",
    ),
    "options on a text step": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: free-text
            text: Tell me.
            options:  # <-
              - {id: one, text: One}
        """,
        "a free-text step cannot have `options`",
    ),
    "choice step without options": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a  # <-
            kind: single-choice
            text: Which?
        """,
        "single-choice step 'a' needs `options`",
    ),
    "bad element": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: free-text
            text: Tell me.
            elements: [E1, E9]  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "bad element 'E9' (one of: E1, E2, E3, E4, E5, E6, E7, E8)",
    ),
    "bad consent scope": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Ok?
            consent: everything  # <-
        """,
        "bad consent scope 'everything' (one of: archive, reports, mechanisms, contact, referral)",
    ),
    "consent options out of range": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: May we share it?
            consent: mechanisms  # <-
            options:
              - {id: sure, text: Sure}
        """,
        "a `mechanisms` consent step must be a choice of anonymised, named, no",
    ),
    "submitting without consent": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: yes-no, text: "Ok?"}
          - id: c  # <-
            kind: end
            reason: submitted
            text: Sent. {reference}
        """,
        "a flow that submits must ask `consent: archive` first",
    ),
    "unknown section": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Ok?
            section: ghost  # <-
          - {id: c, kind: end, reason: declined, text: Bye.}
        """,
        "unknown section 'ghost'",
    ),
    "not a boolean": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: Ok?
            check_in: often  # <-
        """,
        "check_in must be true or false",
    ),
    "exclusive on a single choice": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            options:
              - {id: one, text: One, exclusive: true}  # <-
        """,
        "`exclusive` belongs on a multiple-choice option",
    ),
    "reserved option id": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            options:
              - {id: dont-know, text: Who knows}  # <-
        """,
        "option id 'dont-know' is reserved (use dont_know / prefer_not on the step)",
    ),
    "confirm on an option that deletes nothing": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            options:
              - {id: x, text: X, next: b, confirm: true}  # <-
          - {id: b, kind: info, text: Hi}
          - {id: c, kind: end, reason: declined, text: Bye}
        """,
        "`confirm` asks before deleting: option 'x' must lead to an end that keeps nothing",
    ),
    "confirm on an option without next": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            options:
              - {id: x, text: X, confirm: true}  # <-
          - {id: c, kind: end, reason: declined, text: Bye}
        """,
        "`confirm` belongs on an option with `next` (to an end)",
    ),
    "skip_again without skip_as": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: single-choice
            text: Which?
            skip_again: Are you sure?  # <-
            options:
              - {id: x, text: X}
          - {id: c, kind: end, reason: declined, text: Bye}
        """,
        "`skip_again` needs `skip_as`: what a second skip means",
    ),
    "unknown closing step": (
        """
        id: t
        version: "1"
        start: a
        closing: ghost  # <-
        steps:
          - {id: a, kind: end, reason: declined, text: Bye}
        """,
        "closing step 'ghost' does not exist",
    ),
    # Issue 14: the review's change list names each answer with a label of its own.
    "a step the review lists without a label": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a  # <-
            kind: free-text
            text: In your own words, what happened? Take your time.
          - {id: r, kind: review, text: "{answers}"}
          - {id: c, kind: end, reason: declined, text: Bye}
        """,
        "step 'a' needs a `label`: a few words that name it in the review's list of answers "
        "to change (at most 40 characters)",
    ),
    "a label too long for a button": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: free-text
            text: In your own words, what happened?
            label: What happened to you, in your own words, from the start  # <-
          - {id: r, kind: review, text: "{answers}"}
          - {id: c, kind: end, reason: declined, text: Bye}
        """,
        "the label of step 'a' has 55 characters; at most 40 fit on a phone's button",
    ),
    "a label with a placeholder": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            text: May {org_name} contact you?
            label: Contact from {org_name}  # <-
          - {id: r, kind: review, text: "{answers}"}
          - {id: c, kind: end, reason: declined, text: Bye}
        """,
        "a label cannot use placeholders ({org_name}): keep it to a few plain words",
    ),
    "a label on a step the review does not list": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - id: a
            kind: yes-no
            process: true
            text: Are you somewhere private?
            label: Safety  # <-
          - {id: r, kind: review, text: "{answers}"}
          - {id: c, kind: end, reason: declined, text: Bye}
        """,
        "step 'a' is not in the review's list of answers to change, so it takes no `label`",
    ),
    "two labels alike in one list": (
        """
        id: t
        version: "1"
        start: a
        steps:
          - {id: a, kind: free-text, text: "What happened?", label: What happened}
          - id: b
            kind: free-text
            text: Anything to add about what happened?
            label: What happened  # <-
          - {id: r, kind: review, text: "{answers}"}
          - {id: c, kind: end, reason: declined, text: Bye}
        """,
        "step 'b' has the label 'What happened' of step 'a' in the same list: "
        "a person could not tell them apart",
    ),
}


def write(tmp_path: Path, body: str) -> tuple[Path, int]:
    text = textwrap.dedent(body).lstrip("\n")
    marked = [i for i, line in enumerate(text.splitlines(), 1) if "# <-" in line]
    assert len(marked) == 1, "each case marks exactly one line"
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return path, marked[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_reported_with_file_line_and_reason(tmp_path: Path, case: str) -> None:
    body, reason = CASES[case]
    path, line = write(tmp_path, body)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert str(caught.value) == f"{path}:{line}: {reason}"
    assert (caught.value.line, caught.value.reason) == (line, reason)


def test_an_empty_file_is_an_error_on_line_one(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(FlowError, match=r"t\.yaml:1: the file is empty$"):
        load_flow(path)


def test_the_test_flow_loads_with_its_version_and_a_stable_consent_hash() -> None:
    first = load_flow(ROOT / "tests" / "flows" / "tiny.yaml")
    again = load_flow(ROOT / "tests" / "flows" / "tiny.yaml")
    assert first.version == "1"
    assert len(first.consent_hash) == 64
    assert first.consent_hash == again.consent_hash


def test_the_consent_hash_changes_when_a_consent_text_changes(tmp_path: Path) -> None:
    source = (ROOT / "tests" / "flows" / "tiny.yaml").read_text(encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(source, encoding="utf-8")
    before = load_flow(tmp_path / "tiny.yaml").consent_hash
    changed = source.replace("May we share it with investigators?", "May we share it?")
    (tmp_path / "tiny.yaml").write_text(changed, encoding="utf-8")
    assert load_flow(tmp_path / "tiny.yaml").consent_hash != before
    # A text outside the consent section does not change what consent was given to.
    other = source.replace("Which of these happened?", "Which of these happened to you?")
    (tmp_path / "tiny.yaml").write_text(other, encoding="utf-8")
    assert load_flow(tmp_path / "tiny.yaml").consent_hash == before


def test_yes_and_no_are_option_ids_not_booleans() -> None:
    flow = load_flow(ROOT / "tests" / "flows" / "tiny.yaml")
    assert [o.id for o in flow.step("age").options] == ["yes", "no"]


def test_every_shipped_flow_loads() -> None:
    flows = load_flows()
    assert all(flow.id == name for name, flow in flows.items())


def test_the_same_label_may_name_answers_in_different_groups(tmp_path: Path) -> None:
    path, _ = write(
        tmp_path,
        """
        id: t
        version: "1"
        start: a
        topics:
          - {id: me, text: About me}
          - {id: them, text: About them}
        steps:
          - {id: a, kind: free-text, topic: me, text: "Where were you?", label: Where}
          - {id: b, kind: free-text, topic: them, text: "Where were they?", label: Where}
          - {id: r, kind: review, text: "{answers}"}
          - {id: c, kind: end, reason: declined, text: Bye}  # <-
        """,
    )
    flow = load_flow(path)
    assert [flow.step(s).label for s in ("a", "b")] == ["Where", "Where"]
