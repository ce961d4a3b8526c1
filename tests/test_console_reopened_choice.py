"""A multiple-choice question asked again (from the review, or after /back) at the terminal.

The question shows the earlier choice ticked ("1. [x] Detention"). A tester typed 2 to
add "Threats", and the earlier "Detention" was silently dropped: the typed number replaced
the whole choice. With ticks on the screen, a typed number ticks or unticks that option,
as pressing its button does on Telegram, the list is shown again with the new ticks, and
"Done" keeps what is ticked. At the first asking, with nothing ticked, typed numbers are
still the answer at once.
"""

from __future__ import annotations

from flows.types import DONE
from tests.golden.talk import Talk
from tests.test_engine import at_recall, through_recall


def at_review(harms: str = "1") -> Talk:
    """Through the tiny flow to the review, with `harms` typed at the first asking."""
    talk = at_recall()
    through_recall(talk)
    talk.send("skip")  # follow-up
    talk.send(harms)
    while talk.ask.ask != "review":
        talk.send("skip")
    return talk


def reopened(harms: str = "1") -> Talk:
    talk = at_review(harms)
    talk.press("change")
    talk.press("harms")
    assert talk.ask.ask == "harms"
    return talk


def done(talk: Talk) -> str:
    return str(next(c.n for c in talk.ask.choices if c.value == DONE))


def harms(talk: Talk) -> object:
    assert talk.session is not None
    return talk.session.answers["harms"].value


def test_the_reopened_question_shows_the_earlier_choice_ticked() -> None:
    talk = reopened()
    assert talk.ask.selected == ("detention",)


def test_a_typed_number_ticks_it_beside_the_earlier_choice_and_waits_for_done() -> None:
    talk = reopened()
    turn = talk.send("2")
    assert talk.ask.ask == "harms"  # not answered yet: the list again
    assert talk.ask.selected == ("detention", "threats")
    texts = "\n".join(m.text for m in turn.messages)
    assert "tick or untick" in texts and done(talk) in texts  # how to finish, by its number
    assert harms(talk) == ("detention",)  # nothing changed until Done
    talk.send(done(talk))
    assert harms(talk) == ("detention", "threats")
    assert talk.ask.ask == "review"
    assert "→ Detention; Threats" in talk.ask.text


def test_a_typed_number_of_a_ticked_option_unticks_it() -> None:
    talk = reopened("1, 2")
    talk.send("1")
    assert talk.ask.selected == ("threats",)
    talk.send(done(talk))
    assert harms(talk) == ("threats",)


def test_several_typed_numbers_tick_and_untick_together() -> None:
    talk = reopened("1")
    talk.send("1, 3")
    assert talk.ask.selected == ("other",)


def test_done_alone_keeps_the_earlier_choice() -> None:
    talk = reopened("1, 2")
    talk.send(done(talk))
    assert harms(talk) == ("detention", "threats")
    assert talk.ask.ask == "review"


def test_numbers_typed_with_done_are_added_and_finish() -> None:
    talk = reopened("1")
    talk.send(f"3, {done(talk)}")
    assert harms(talk) == ("detention", "other")


def test_an_exclusive_option_typed_clears_the_others_as_its_button_does() -> None:
    talk = reopened("1, 2")
    talk.send("4")  # None of these
    assert talk.ask.selected == ("none",)


def test_after_back_a_typed_number_ticks_too() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.send("skip")
    talk.send("1")  # harms: detention; on to held-where
    talk.command("back")
    assert talk.ask.ask == "harms" and talk.ask.selected == ("detention",)
    talk.send("2")
    assert talk.ask.selected == ("detention", "threats")


def test_at_the_first_asking_typed_numbers_are_the_answer_at_once() -> None:
    talk = at_recall()
    through_recall(talk)
    talk.send("skip")
    talk.send("2, 3")
    assert harms(talk) == ("threats", "other")
    assert talk.ask.ask == "when"


def test_on_telegram_a_typed_label_after_a_press_ticks_it_too() -> None:
    talk = at_recall()
    talk.numbered = False
    through_recall(talk)
    talk.send("skip")
    talk.press("detention")
    talk.send("Threats")
    assert talk.ask.selected == ("detention", "threats")
    talk.press(DONE)
    assert harms(talk) == ("detention", "threats")
