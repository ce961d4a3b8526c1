"""Issue f3: the review's change lists, as a person on a phone uses them.

Telegram shows one button a row and no numbers: leaving a group, or the change list, must
be a button on the screen, not a typed /back nobody mentions. Going back changes nothing.
The groups stay short enough to read on a phone.
"""

from __future__ import annotations

import pytest

from flows.types import Choice
from tests.golden.talk import Talk
from tests.test_change_list_labels import to_review

GROUPS = [
    "What happened",
    "When and where",
    "Who",
    "Why",
    "After it happened",
    "Consent",
]


def at_review(flow_id: str = "survivor", *, numbered: bool = False) -> Talk:
    talk = Talk.of(flow_id, numbered=numbered)
    talk.start(hint="en")
    to_review(talk)
    return talk


def back_button(choices: tuple[Choice, ...]) -> Choice:
    last = choices[-1]
    assert last.label == "Go back", [c.label for c in choices]
    return last


def test_the_group_list_has_a_back_button_to_the_review_that_changes_nothing() -> None:
    talk = at_review()
    review = talk.texts()
    answers = dict(talk.session.answers)  # type: ignore[union-attr]
    talk.press("change")
    assert talk.ask.ask == "review-change"
    talk.press(back_button(talk.ask.choices).value)
    assert talk.ask.ask == "review"
    assert talk.texts() == review  # the same review, nothing changed
    assert talk.session.answers == answers  # type: ignore[union-attr]


def test_a_groups_list_has_a_back_button_to_the_groups() -> None:
    talk = at_review()
    talk.press("change")
    groups = talk.ask
    talk.press("topic:when-where")
    talk.press(back_button(talk.ask.choices).value)
    assert talk.ask.ask == "review-change"
    assert talk.ask.text == groups.text == "Which part would you like to change?"
    assert talk.ask.choices == groups.choices
    # And from the groups, on back to the review.
    talk.press(back_button(talk.ask.choices).value)
    assert talk.ask.ask == "review"


def test_on_the_terminal_back_is_numbered_like_any_option() -> None:
    talk = at_review(numbered=True)
    talk.press("change")
    talk.send("2")  # When and where
    back = back_button(talk.ask.choices)
    talk.send(str(back.n))
    assert talk.ask.text == "Which part would you like to change?"
    talk.send(str(back_button(talk.ask.choices).n))
    assert talk.ask.ask == "review"


def test_a_flat_change_list_has_a_back_button_to_the_review() -> None:
    """The documenter flow lists its answers without groups."""
    talk = at_review("documenter")
    talk.press("change")
    talk.press(back_button(talk.ask.choices).value)
    assert talk.ask.ask == "review"


def test_the_groups_are_short_and_what_happened_is_about_what_happened() -> None:
    talk = at_review()
    talk.press("change")
    assert [c.label for c in talk.ask.choices] == [*GROUPS, "Go back"]
    sizes = {}
    for group in talk.ask.choices[:-1]:
        talk.press(group.value)
        sizes[group.label] = [c.value for c in talk.ask.choices]
        talk.press(back_button(talk.ask.choices).value)
    assert all(len(buttons) <= 10 for buttons in sizes.values()), sizes
    after = sizes["After it happened"]
    for step in ("told-before", "impact", "needs", "anything-else"):
        assert step not in sizes["What happened"], step
        assert step in after, step


@pytest.mark.parametrize("language", ["ar", "fa", "uk", "es", "fr"])
def test_the_back_button_and_the_new_group_are_translated(language: str) -> None:
    talk = Talk.of("survivor", numbered=False)
    talk.start(hint=language)
    to_review(talk)
    talk.press("change")
    labels = [c.label for c in talk.ask.choices]
    assert "Go back" not in labels and "After it happened" not in labels, labels
    assert len(labels) == len(GROUPS) + 1


async def test_on_telegram_go_back_is_a_button_that_works() -> None:
    """Real PTB objects and the fake Bot API: the button is signed and pressed as any."""
    from tests.telegram_harness import open_harness
    from tests.test_telegram_channel import autopilot_until

    h = await open_harness()
    try:
        await h.say("/start")
        await autopilot_until(h, "review")
        answers = await h.answers()
        await h.press("Change an answer")
        await h.press("When and where")
        assert [t for t, _ in h.last_keyboard()[1]][-1] == "Go back"
        said = await h.press("Go back")
        assert said[-1] == "Which part would you like to change?"
        assert [t for t, _ in h.last_keyboard()[1]][-1] == "Go back"
        await h.press("Go back")
        assert await h.state() == "review"
        assert await h.answers() == answers
    finally:
        await h.app.shutdown()
