"""Wording found by a tester: the Arabic review line, and the tick-mode error message."""

from __future__ import annotations

import pytest

from flows.i18n import translator
from tests.test_console_reopened_choice import done, reopened

REVIEW = (
    "Here is everything you told us:\n{answers}\nYou can send it as it is, or change any answer."
)


def test_the_arabic_review_line_speaks_of_the_account_as_feminine() -> None:
    arabic = translator("ar").gettext(REVIEW)
    assert "إرساله كما هو" not in arabic
    assert "إرسالها كما هي" in arabic  # الشهادة


@pytest.mark.parametrize("typed", ["yes please", "12"])
def test_in_tick_mode_the_error_says_how_ticking_works(typed: str) -> None:
    talk = reopened("1")
    turn = talk.send(typed)
    texts = "\n".join(m.text for m in turn.messages[:-1])
    assert "separated by commas" not in texts  # ticks are one number, or several, at a time
    assert "tick or untick" in texts and done(talk) in texts
    assert talk.ask.ask == "harms" and talk.ask.selected == ("detention",)
