"""A multiple-choice question reopened from the review when its answer was "Prefer not to say".

There was no tick mode: a typed number replaced the answer and closed the list at once,
and the next numbers, meant as ticks, landed on the last consent check ("1. Yes, send it
like this"). Now the question opens as it does after a real choice: the earlier answer is
ticked, numbers tick and untick, and Done finishes. And in tick mode, choosing an option
that goes on its own (None of these, Prefer not to say) says that it clears the others.
"""

from __future__ import annotations

import pytest

from flows.types import PREFER_NOT
from tests.golden.talk import Talk
from tests.test_console_reopened_choice import done, harms, reopened


def status(talk: Talk) -> str:
    assert talk.session is not None
    return talk.session.answers["harms"].status


def prefer_not_number(talk: Talk) -> str:
    return str(next(c.n for c in talk.ask.choices if c.value == PREFER_NOT))


@pytest.mark.parametrize("numbered", [True, False])
def test_reopened_prefer_not_opens_in_tick_mode_with_it_ticked(numbered: bool) -> None:
    talk = reopened("5")  # 5. Prefer not to say
    talk.numbered = numbered
    assert status(talk) == "prefer-not"
    assert talk.ask.selected == (PREFER_NOT,)
    talk.send("1") if numbered else talk.press("detention")
    assert talk.ask.ask == "harms"  # not closed: the list again
    assert talk.ask.selected == ("detention",)
    assert status(talk) == "prefer-not"  # nothing changed until Done
    talk.send("2") if numbered else talk.press("threats")
    assert talk.ask.selected == ("detention", "threats")
    talk.send(done(talk)) if numbered else talk.press("done")
    assert harms(talk) == ("detention", "threats")
    assert talk.ask.ask == "held-where"  # what Detention newly opens, then the review


def test_done_alone_keeps_prefer_not() -> None:
    talk = reopened("5")
    talk.send(done(talk))
    assert status(talk) == "prefer-not"
    assert talk.ask.ask == "review"


@pytest.mark.parametrize("numbered", [True, False])
@pytest.mark.parametrize("alone", ["none", PREFER_NOT])
def test_in_tick_mode_an_option_on_its_own_says_it_clears_the_others(
    numbered: bool, alone: str
) -> None:
    talk = reopened("1, 2")
    talk.numbered = numbered
    number = str(next(c.n for c in talk.ask.choices if c.value == alone))
    turn = talk.send(number) if numbered else talk.press(alone)
    texts = "\n".join(m.text for m in turn.messages)
    assert "clears the other" in texts
    assert talk.ask.ask == "harms" and talk.ask.selected == (alone,)
    assert harms(talk) == ("detention", "threats")  # nothing changed until Done
    talk.send(done(talk)) if numbered else talk.press("done")
    if alone == PREFER_NOT:
        assert status(talk) == "prefer-not"
    else:
        assert harms(talk) == ("none",)


def test_an_option_on_its_own_with_nothing_else_ticked_says_nothing_of_clearing() -> None:
    talk = reopened("5")
    talk.send("1")  # detention: unticks prefer-not, nothing to warn about
    turn = talk.send("4")  # none of these: clears detention
    assert "clears the other" in "\n".join(m.text for m in turn.messages)
