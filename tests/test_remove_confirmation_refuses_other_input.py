"""A pending confirmation takes only its own options.

At "This deletes what you wrote" a tester typed `yes`, `delete` and `9`: each was quietly
added to their story and the confirmation disappeared. Anything other than the options
offered is now refused gently, nothing is recorded, and the confirmation is asked again,
at the terminal and on Telegram alike. "Delete everything I wrote" (confirm-delete) is
held to the same rule (there the option's own label, "Delete", typed exactly, still
picks it, as a label does anywhere).
"""

from __future__ import annotations

import pytest

from flows.types import KEEP_TEXT, REMOVE_TEXT
from tests.golden.talk import Talk
from tests.test_console_add_more import STORY, at_more, parts


def at_remove_confirmation(*, numbered: bool = True) -> Talk:
    talk = at_more(numbered=numbered)
    talk.press("more")
    talk.press(REMOVE_TEXT)
    assert [c.value for c in talk.ask.choices] == [REMOVE_TEXT, KEEP_TEXT]
    return talk


@pytest.mark.parametrize("numbered", [True, False])
@pytest.mark.parametrize("typed", ["yes", "delete", "9", "They came back."])
def test_other_words_at_the_remove_confirmation_are_refused_and_nothing_is_added(
    typed: str, numbered: bool
) -> None:
    talk = at_remove_confirmation(numbered=numbered)
    turn = talk.send(typed)
    texts = "\n".join(m.text for m in turn.messages)
    assert "Nothing has been changed" in texts
    if numbered:
        assert "1" in texts and "2" in texts  # the numbers to reply with
    assert parts(talk) == (STORY,)
    assert [c.value for c in talk.ask.choices] == [REMOVE_TEXT, KEEP_TEXT]  # asked again
    talk.press(KEEP_TEXT)
    assert parts(talk) == (STORY,)


def test_a_voice_note_at_the_remove_confirmation_is_refused_too() -> None:
    talk = at_remove_confirmation(numbered=False)
    talk.media("voice")
    assert parts(talk) == (STORY,)
    assert talk.session is not None and not talk.session.answers["recall"].files
    assert [c.value for c in talk.ask.choices] == [REMOVE_TEXT, KEEP_TEXT]


def test_the_offered_numbers_still_answer_the_confirmation() -> None:
    talk = at_remove_confirmation()
    talk.send("2")  # keep
    assert parts(talk) == (STORY,)
    talk.press(REMOVE_TEXT)
    talk.send("1")  # delete
    assert talk.session is not None and "recall" not in talk.session.answers


@pytest.mark.parametrize("numbered", [True, False])
@pytest.mark.parametrize("typed", ["yes", "ok", "9"])
def test_other_words_at_delete_everything_are_refused_and_nothing_is_deleted(
    typed: str, numbered: bool
) -> None:
    talk = at_more(numbered=numbered)
    talk.press("done")
    talk.press("stop")
    talk.press("delete")
    assert talk.ask.ask == "confirm-delete"
    talk.send(typed)
    assert talk.session is not None  # nothing deleted
    assert talk.ask.ask == "confirm-delete"
    assert parts(talk) == (STORY,)
