"""A question waiting for "This deletes …: delete, or go back?" survives /pause and /resume.

A tester chose "Remove what I wrote" at a question asked again, was asked to confirm,
typed /pause, and after /resume found the plain question again: the confirmation was
gone. Nothing had been deleted, but the person was no longer where they left off. Coming
back, the same confirmation is asked again (after the question, so it is clear what it is
about), and nothing is deleted without a yes.
"""

from __future__ import annotations

import pytest

from flows.types import KEEP_TEXT, REMOVE_TEXT
from tests.golden.talk import Talk
from tests.test_engine import at_recall

REMOVE_ASKED = "This deletes what you wrote for this question."


def confirming_removal(*, numbered: bool = True) -> Talk:
    """At the follow-up, asked again after /back, with "Remove what I wrote" chosen."""
    talk = at_recall()
    talk.numbered = numbered
    talk.send("They came at night.")
    talk.press("done")
    talk.press("continue")
    talk.send("They wore green.")  # follow-up
    talk.command("back")
    assert talk.ask.ask == "follow-up"
    talk.press(REMOVE_TEXT)
    assert talk.ask.text == REMOVE_ASKED
    return talk


def follow_up(talk: Talk) -> object:
    assert talk.session is not None
    answer = talk.session.answers.get("follow-up")
    return answer.value if answer is not None else None


def assert_asked_to_confirm(talk: Talk) -> None:
    texts = [m.text for m in talk.last.messages]
    assert talk.ask.text == REMOVE_ASKED
    assert [c.value for c in talk.ask.choices] == [REMOVE_TEXT, KEEP_TEXT]
    assert any("Can you tell me more about that?" in t for t in texts)  # which question
    assert follow_up(talk) == "They wore green."  # nothing deleted yet


def test_at_the_terminal_coming_back_after_pause_asks_the_confirmation_again() -> None:
    talk = confirming_removal()
    assert talk.command("pause").end == "paused"
    talk.start()  # the terminal: `attest console` run again
    assert talk.ask.ask == "resume"
    talk.press("resume")
    assert_asked_to_confirm(talk)


def test_resume_sent_in_the_same_chat_asks_the_confirmation_again() -> None:
    talk = confirming_removal(numbered=False)
    talk.command("pause")
    talk.command("resume")
    assert_asked_to_confirm(talk)


@pytest.mark.parametrize("numbered", [True, False])
def test_after_coming_back_go_back_keeps_what_was_written(numbered: bool) -> None:
    talk = confirming_removal(numbered=numbered)
    talk.command("pause")
    talk.command("resume")
    talk.press(KEEP_TEXT)
    assert follow_up(talk) == "They wore green."
    assert talk.ask.ask == "follow-up"


def test_after_coming_back_delete_removes_it() -> None:
    talk = confirming_removal()
    talk.command("pause")
    talk.start()
    talk.press("resume")
    talk.send("1")  # "Delete what I wrote", by its number
    assert follow_up(talk) is None


def test_a_pending_delete_everything_is_asked_again_after_pause_too() -> None:
    talk = at_recall()
    talk.send("They came at night.")
    talk.press("done")
    talk.press("stop")
    talk.press("delete")
    assert talk.ask.ask == "confirm-delete"
    talk.command("pause")
    talk.start()
    talk.press("resume")
    assert talk.ask.ask == "confirm-delete"
    assert talk.session is not None and "recall" in talk.session.answers
