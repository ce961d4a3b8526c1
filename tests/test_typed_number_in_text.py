"""Issue f3: a number typed into a reopened free-text question is the person's answer.

Asked again from the review, a text question also offers "Remove what I wrote". On
Telegram the buttons carry no numbers, so a typed "1" in "How many others, and where"
means one, never "Remove what I wrote" ("This deletes what you wrote…"); "2" in "When it
started" is not a button either. On the terminal, which shows the options with their
numbers, a number picks the option; a destructive one ("Remove what I wrote") still asks
once more before anything is removed, and going back keeps what was written.
"""

from __future__ import annotations

from flows.spec import TEXT_KINDS
from flows.types import REMOVE_TEXT
from tests.golden.talk import Talk


def to_review(talk: Talk) -> None:
    """Up to the review: text questions written, others affected "many", first choices."""
    for _ in range(300):
        ask = talk.ask
        if ask.ask == "review":
            return
        if ask.ask == "check-in":
            talk.press("continue")
        elif ask.ask == "more":
            talk.press("done")
        elif ask.kind in TEXT_KINDS:
            talk.send("A few words.")
        elif ask.ask == "others-affected":
            talk.press("many")
        elif ask.multi:
            talk.send("1")
        else:
            talk.press(ask.choices[0].value)
    raise AssertionError("the review was never reached")


def reopened(step: str, topic: str, *, numbered: bool) -> Talk:
    talk = Talk.of("survivor", numbered=numbered)
    talk.start(hint="en")
    to_review(talk)
    talk.press("change")
    talk.press(f"topic:{topic}")
    talk.press(step)
    assert talk.ask.ask == step
    assert REMOVE_TEXT in [c.value for c in talk.ask.choices]
    return talk


def answer(talk: Talk, step: str) -> object:
    return talk.session.answers[step].value  # type: ignore[union-attr]


def test_on_telegram_a_typed_number_in_a_text_question_is_the_answer() -> None:
    talk = reopened("others-where", "what", numbered=False)
    talk.send("1")
    texts = "\n".join(talk.texts())
    assert "This deletes what you wrote" not in texts
    assert answer(talk, "others-where") == "1"
    assert talk.ask.ask in ("consent-final", "review")  # on towards the review


def test_on_telegram_a_number_in_when_it_started_is_a_date_not_remove() -> None:
    talk = reopened("when-started", "when-where", numbered=False)
    talk.send("2")
    assert "This deletes what you wrote" not in "\n".join(talk.texts())
    assert answer(talk, "when-started") == "2"


def test_on_telegram_arabic_and_persian_digits_are_text_too() -> None:
    talk = reopened("others-where", "what", numbered=False)
    talk.send("١")
    assert answer(talk, "others-where") == "١"


def test_on_telegram_the_remove_button_still_asks_first() -> None:
    talk = reopened("others-where", "what", numbered=False)
    talk.press(REMOVE_TEXT)
    assert talk.ask.text == "This deletes what you wrote for this question."
    assert answer(talk, "others-where") == "A few words."


def test_on_the_terminal_the_number_of_remove_asks_before_removing_anything() -> None:
    talk = reopened("others-where", "what", numbered=True)
    remove = next(c for c in talk.ask.choices if c.value == REMOVE_TEXT)
    talk.send(str(remove.n))
    assert talk.ask.text == "This deletes what you wrote for this question."
    assert answer(talk, "others-where") == "A few words."  # nothing removed yet
    keep = next(c for c in talk.ask.choices if c.value == "keep-text")
    talk.send(str(keep.n))
    assert talk.ask.ask == "others-where"
    assert answer(talk, "others-where") == "A few words."


def test_on_telegram_a_number_typed_after_add_more_is_added() -> None:
    """The more/done question after a several-message answer: "2" is text, not Done."""
    talk = reopened("recall", "what", numbered=False)
    talk.send("2 of them")
    assert talk.ask.ask == "more"
    talk.send("2")
    assert answer(talk, "recall") == "A few words.\n\n2 of them\n\n2"
