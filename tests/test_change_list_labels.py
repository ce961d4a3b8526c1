"""Issue 14: the review's "change an answer" list names each answer with a short label.

A person on a phone sees "When it started", not half a question ending in "…"; picking
it still asks the whole question. Every shipped language, both flows.
"""

from __future__ import annotations

import pytest

from flows import catalogs
from flows.bidi import LRI, PDI, unisolated
from flows.deployment import demo_deployment
from flows.i18n import translator
from flows.render import Renderer
from flows.spec import LABEL_CHARS, Flow
from flows.states import BACK_CHOICE
from flows.types import Choice, Inbound
from tests.golden.talk import Talk

LANGUAGES = catalogs.languages()
FLOWS = ("survivor", "documenter")


def visible(text: str) -> str:
    """What a person sees: without the invisible direction isolates."""
    return text.replace(LRI, "").replace(PDI, "")


def to_review(talk: Talk) -> None:
    """Answer everything (first choices, and "other" where a list has it) up to the review."""
    for _ in range(300):
        ask = talk.ask
        if ask.ask == "review":
            return
        if ask.ask == "check-in":
            talk.press("continue")
        elif ask.ask == "more":
            talk.press("done")
        elif ask.multi:
            other = [c.n for c in ask.choices if c.value == "other"]
            talk.send(", ".join(str(n) for n in (1, *other)))
        elif ask.choices:
            talk.press(ask.choices[0].value)
        else:
            talk.send("A few words.")
    raise AssertionError("the review was never reached")


def without_back(choices: tuple[Choice, ...]) -> tuple[Choice, ...]:
    """A change list's items, without its last button, "Go back" (issue f3)."""
    assert choices[-1].value == BACK_CHOICE, choices[-1]
    return choices[:-1]


def change_lists(talk: Talk) -> list[tuple[Choice, ...]]:
    """Every list of answers "Change an answer" offers (one a group when the flow has them)."""
    talk.press("change")
    if not talk.flow.topics:
        return [without_back(talk.ask.choices)]
    lists = []
    for group in without_back(talk.ask.choices):
        talk.press(group.value)
        lists.append(without_back(talk.ask.choices))
        talk.command("back")
    return lists


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("flow_id", FLOWS)
def test_every_item_of_the_change_list_is_its_label_never_a_cut_question(
    flow_id: str, language: str
) -> None:
    talk = Talk.of(flow_id)
    talk.start(hint=language)
    to_review(talk)
    lists = change_lists(talk)
    _ = translator(language).gettext
    seen = 0
    for items in lists:
        labels = [visible(c.label) for c in items]
        assert len(set(labels)) == len(labels), labels  # tell them apart, type them
        for choice in items:
            step = talk.flow.step(choice.value)
            assert step.label is not None, step.id
            assert choice.label == _(step.label), step.id
            assert not visible(choice.label).endswith(("…", "...")), choice.label
            assert len(visible(choice.label)) <= LABEL_CHARS, choice.label
            seen += 1
    assert seen >= 25  # the account's answers, not a handful


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("flow_id", FLOWS)
def test_picking_an_item_still_asks_the_whole_question(flow_id: str, language: str) -> None:
    talk = Talk.of(flow_id)
    talk.start(hint=language)
    to_review(talk)
    talk.press("change")
    if talk.flow.topics:
        talk.press("topic:what")
    recall = talk.flow.step("recall")
    assert translator(language).gettext(recall.label or "") in [c.label for c in talk.ask.choices]
    talk.press("recall")
    assert talk.ask.ask == "recall"
    assert translator(language).gettext(recall.text) in talk.ask.text


def listed_steps(flow: Flow) -> list[str]:
    return [s.id for s in flow.steps if s.listed]


@pytest.mark.parametrize("flow_id", FLOWS)
def test_every_answer_the_review_can_list_has_a_label_in_every_language(flow_id: str) -> None:
    """Also the steps the walk above does not reach (other branches)."""
    flow = Talk.of(flow_id).flow
    assert len(listed_steps(flow)) >= 30
    for language in LANGUAGES:
        renderer = Renderer(flow, demo_deployment(), translator(language))
        for step_id in listed_steps(flow):
            step = flow.step(step_id)
            label = visible(renderer.label(step))
            assert label and not label.endswith("…"), (language, step_id)
            assert len(label) <= LABEL_CHARS, (language, step_id, label)
            if language != "en":
                assert label != step.label, (language, step_id)  # translated


def test_a_label_in_a_right_to_left_language_keeps_latin_words_isolated() -> None:
    """Persian and Arabic labels read right to left; a Latin word inside stays whole."""
    for language in ("ar", "fa"):
        for flow_id in FLOWS:
            flow = Talk.of(flow_id).flow
            renderer = Renderer(flow, demo_deployment(), translator(language))
            for step_id in listed_steps(flow):
                label = renderer.label(flow.step(step_id))
                assert not unisolated(label), (language, step_id, label)


def test_the_change_list_is_read_back_when_a_label_is_typed() -> None:
    """A label typed instead of tapped picks that answer, as any choice's label does."""
    talk = Talk.of("survivor")
    talk.start(hint="en")
    to_review(talk)
    talk.press("change")
    talk.press("topic:when-where")
    talk.send(Inbound(kind="text", text="When it started"))
    assert talk.ask.ask == "when-started"
