"""/back at a question reopened from the review's change list.

The person came to it from the change list ("Which answer would you like to change?"),
so /back goes one screen back: to that list (in the survivor flow, the list of the same
group), changing nothing, where they can pick another answer or go back again (to the
groups, then to the review). It used to jump to the whole review, a long message, as if
the list had never been there. Back goes to the review only from the change list itself.
"""

from __future__ import annotations

from tests.golden.talk import Talk
from tests.test_console_reopened_choice import harms, reopened
from tests.test_engine import at_recall
from tests.test_typed_number_in_text import to_review


def test_back_at_a_reopened_question_returns_to_the_change_list_changing_nothing() -> None:
    talk = reopened("1")
    talk.command("back")
    assert talk.ask.ask == "review-change"
    assert "harms" in [c.value for c in talk.ask.choices]
    assert harms(talk) == ("detention",)
    talk.command("back")  # from the change list: the review
    assert talk.ask.ask == "review"


def test_ticks_changed_before_back_are_not_kept() -> None:
    talk = reopened("1")
    talk.send("2")  # ticks threats, not yet Done
    talk.command("back")
    assert talk.ask.ask == "review-change"
    assert harms(talk) == ("detention",)
    talk.press("harms")  # asked again: the earlier choice, as it was
    assert talk.ask.selected == ("detention",)


def test_after_back_to_the_change_list_another_answer_can_be_changed() -> None:
    talk = reopened("1")
    talk.command("back")
    talk.press("when")
    talk.send("last winter")
    assert talk.ask.ask == "review"
    assert "→ last winter" in talk.ask.text


def test_in_the_survivor_flow_back_returns_to_the_same_groups_list() -> None:
    talk = Talk.of("survivor")
    talk.start(hint="en")
    to_review(talk)
    talk.press("change")
    talk.press("topic:when-where")
    group = [c.value for c in talk.ask.choices]
    step = group[0]
    talk.press(step)
    assert talk.ask.ask == step
    talk.command("back")
    assert talk.ask.ask == "review-change"
    assert [c.value for c in talk.ask.choices] == group  # the same group's answers
    talk.command("back")
    assert talk.ask.ask == "review-change"
    assert any(c.value.startswith("topic:") for c in talk.ask.choices)  # the groups
    talk.command("back")
    assert talk.ask.ask == "review"


def test_back_within_a_change_still_returns_to_the_review_afterwards() -> None:
    """/back from a question the change newly opened, to the changed one, and on again:
    what was answered before is passed over on the way back to the review, as it is
    without the /back (it used to ask every later answered question again)."""
    talk = reopened("3")  # other: held-where is not asked
    talk.send("1, 3")  # now detention
    talk.send("6")  # Done: held-where, newly opened
    assert talk.ask.ask == "held-where"
    talk.command("back")
    assert talk.ask.ask == "harms" and talk.ask.selected == ("detention",)
    talk.send("6")
    assert talk.ask.ask == "held-where"
    talk.send("Townville")
    assert talk.ask.ask == "review"  # not "when", answered before


def test_leaving_a_change_unmade_still_asks_the_last_consent_check_before_the_review() -> None:
    """The last consent check's "I want to change something" is dropped when an answer
    is opened from the change list; leaving it unchanged (/back to the list, back to the
    review) must not send the account without that check asked again."""
    talk = Talk.of("survivor")
    talk.start(hint="en")
    to_review_via_change_request(talk)
    talk.press("change")
    talk.press("topic:consent")
    talk.press("consent-reports")
    talk.command("back")  # the consent group's list
    talk.command("back")  # the groups
    talk.command("back")
    assert talk.ask.ask == "consent-final"  # asked again, before the review
    talk.press("keep")
    assert talk.ask.ask == "review"
    account = talk.press("send").account
    assert account is not None
    assert {a.step: a.value for a in account.answers}["consent-final"] == "keep"


def to_review_via_change_request(talk: Talk) -> None:
    """Cooperative answers, and "I want to change something" at the last consent check."""
    while talk.ask.ask != "consent-final":
        if talk.ask.ask == "review":
            raise AssertionError("the last consent check was never asked")
        to_review_step(talk)
    talk.press("change")
    assert talk.ask.ask == "review"


def to_review_step(talk: Talk) -> None:
    ask = talk.ask
    if ask.ask == "check-in":
        talk.press("continue")
    elif ask.ask == "more":
        talk.press("done")
    elif ask.kind in ("free-text", "approximate-date", "place"):
        talk.send("A few words.")
    elif ask.ask == "others-affected":
        talk.press("many")
    elif ask.multi:
        talk.send("1")
    else:
        talk.press(ask.choices[0].value)


def test_after_stopping_early_leaving_the_change_list_goes_to_the_review() -> None:
    """Only the dropped consent check is asked again: the questions a person spared
    themselves by stopping early are not."""
    talk = at_recall()
    talk.send("They came at night.")
    talk.press("done")
    talk.press("stop")
    talk.press("review")
    talk.press("change")
    talk.command("back")
    assert talk.ask.ask == "review"
