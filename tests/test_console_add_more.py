"""The "Add more / Done" point of a story told in several messages, at the terminal.

A tester typed 9 at "1. Add more  2. Done": it was added to their account as words of
their story. On the terminal the options are numbered, so a bare number there is an
attempt to pick one: a number that is not shown gets a gentle "please pick one of the
numbers shown", and nothing is recorded. And after "Add more" the person is told how to
finish: "Done" is offered with the question, and picking it adds nothing.
"""

from __future__ import annotations

import pytest

from flows.types import DONE
from tests.golden.talk import Talk
from tests.test_engine import at_recall

STORY = "They came at night."


def at_more(*, numbered: bool = True) -> Talk:
    talk = at_recall()
    talk.numbered = numbered
    talk.send(STORY)
    assert talk.ask.ask == "more"
    return talk


def parts(talk: Talk) -> tuple[str, ...]:
    assert talk.session is not None
    return talk.session.answers["recall"].parts


@pytest.mark.parametrize("typed", ["9", "3", "0", "1, 2", "٩"])
def test_a_number_not_shown_at_add_more_is_refused_gently_and_nothing_is_added(
    typed: str,
) -> None:
    talk = at_more()
    turn = talk.send(typed)
    texts = "\n".join(m.text for m in turn.messages)
    assert "one of the numbers shown" in texts
    assert "Nothing was added" in texts
    assert parts(talk) == (STORY,)
    assert talk.ask.ask == "more"  # the same question, asked again
    assert [c.value for c in talk.ask.choices] == ["more", DONE]


def test_the_numbers_shown_at_add_more_still_pick() -> None:
    talk = at_more()
    talk.send("2")
    assert talk.ask.ask == "check-in"
    assert parts(talk) == (STORY,)


def test_on_telegram_a_number_at_add_more_is_still_words_of_the_story() -> None:
    talk = at_more(numbered=False)
    talk.send("9")
    assert parts(talk) == (STORY, "9")


@pytest.mark.parametrize("numbered", [True, False])
def test_after_add_more_the_person_is_told_how_to_finish(numbered: bool) -> None:
    talk = at_more(numbered=numbered)
    talk.press("more")
    ask = talk.ask
    assert ask.ask == "recall"
    assert DONE in [c.value for c in ask.choices]  # "Done" offered, a button on Telegram
    assert "Done" in ask.text  # and named in the words


def test_after_add_more_done_by_its_number_finishes_without_adding() -> None:
    talk = at_more()
    talk.press("more")
    done = next(c.n for c in talk.ask.choices if c.value == DONE)
    talk.send(str(done))
    assert talk.ask.ask == "check-in"
    assert parts(talk) == (STORY,)


def test_after_add_more_the_done_button_finishes_without_adding() -> None:
    talk = at_more(numbered=False)
    talk.press("more")
    talk.press(DONE)
    assert talk.ask.ask == "check-in"
    assert parts(talk) == (STORY,)


def test_after_add_more_more_words_are_still_added() -> None:
    talk = at_more()
    talk.press("more")
    talk.send("Then they left.")
    assert parts(talk) == (STORY, "Then they left.")
    assert talk.ask.ask == "more"


@pytest.mark.parametrize("numbered", [True, False])
@pytest.mark.parametrize("typed", ["ok", "yes", "thanks"])
def test_words_typed_at_add_more_are_added_and_the_person_is_told(
    typed: str, numbered: bool
) -> None:
    """A polite "ok" at "Add more / Done" went into the account with no sign."""
    talk = at_more(numbered=numbered)
    turn = talk.send(typed)
    texts = "\n".join(m.text for m in turn.messages)
    assert "Added to what you wrote" in texts
    assert parts(talk) == (STORY, typed)
    assert talk.ask.ask == "more"  # the same choice, Add more / Done
    assert [c.value for c in talk.ask.choices] == ["more", DONE]


def test_a_voice_note_at_add_more_is_added_and_the_person_is_told() -> None:
    talk = at_more(numbered=False)
    turn = talk.media("voice")
    assert "Added to what you wrote" in "\n".join(m.text for m in turn.messages)
    assert talk.ask.ask == "more"


def test_words_sent_after_add_more_need_no_notice() -> None:
    talk = at_more()
    talk.press("more")
    turn = talk.send("Then they left.")
    assert "Added to what you wrote" not in "\n".join(m.text for m in turn.messages)


def numbers(talk: Talk) -> dict[str, int]:
    return {c.value: c.n for c in talk.ask.choices}


def test_done_keeps_its_number_from_add_more_to_the_next_screen() -> None:
    """1 = Add more, 2 = Done; right after "Add more", 1 was Done and 2 "Remove what I
    wrote": someone who learned 2 = Done landed on the delete confirmation."""
    talk = at_more()
    done = numbers(talk)[DONE]
    talk.press("more")
    after = numbers(talk)
    assert after[DONE] == done
    assert 1 not in after.values()  # 1 was "Add more": it never leads elsewhere here
    talk.send(str(done))
    assert talk.ask.ask == "check-in"
    assert parts(talk) == (STORY,)


def test_the_add_more_number_typed_again_after_add_more_is_refused_gently() -> None:
    talk = at_more()
    talk.press("more")
    turn = talk.send("1")
    texts = "\n".join(m.text for m in turn.messages)
    assert "Nothing was added" in texts
    assert parts(talk) == (STORY,)
    assert talk.ask.ask == "recall" and DONE in numbers(talk)
