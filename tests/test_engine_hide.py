"""/hide: clear the chat's messages, keep the encrypted draft; /resume goes on from there.

Quick exit promises only what is true (a bot deletes messages only within 48 hours), and
/pause says that it leaves the chat visible, with a button to hide it.
"""

from __future__ import annotations

import pytest

from flows.types import HIDE_BUTTON, EraseChat, Inbound, ShredDraft
from tests.golden.talk import Talk
from tests.test_engine import at_recall


@pytest.mark.parametrize(
    "form", ["/hide", "hide", "hide/", Inbound(kind="command", command="hide")]
)
def test_hide_erases_the_chat_and_keeps_every_answer(form: str | Inbound) -> None:
    talk = at_recall()
    talk.numbered = False  # a chat (Telegram), where the bot deletes the messages
    talk.send("They came at night.")
    before = dict(talk.session.answers) if talk.session else {}
    turn = talk.send(form)
    assert turn.effects == (EraseChat(),)
    assert ShredDraft() not in turn.effects and turn.end == "paused"
    assert talk.session is not None and talk.session.status == "paused"
    assert talk.session.answers == before
    assert "your answers are kept" in turn.messages[-1].text
    turn = talk.send("/resume")
    assert talk.session is not None and talk.session.status == "active"
    assert turn.messages[-1].ask == "more" and turn.effects == ()


def test_pause_says_the_chat_stays_visible_and_offers_a_hide_button() -> None:
    talk = at_recall()
    talk.numbered = False  # a chat (Telegram)
    turn = talk.send("/pause")
    assert turn.effects == () and turn.end == "paused"
    note = turn.messages[-1]
    assert "stays visible" in note.text and "/hide" in note.text
    assert note.ask == "recall"  # the button belongs to the question left open
    assert [(c.value, c.label) for c in note.choices] == [(HIDE_BUTTON, "Hide this chat")]
    turn = talk.press(HIDE_BUTTON)
    assert turn.effects == (EraseChat(),)
    assert talk.session is not None and talk.session.state == "recall"
    turn = talk.start()  # coming back later with /start
    assert turn.messages[-1].ask == "resume"
    turn = talk.press("resume")
    assert turn.messages[-1].ask == "recall"


def test_the_local_word_hides_in_arabic() -> None:
    talk = Talk.of("survivor")
    talk.start(hint="ar")
    talk.send("1")
    turn = talk.send("إخفاء")
    assert turn.effects == (EraseChat(),)
    assert talk.session is not None and talk.session.answers["safety"].value == "yes"


def test_quick_exit_promises_only_recent_messages() -> None:
    talk = Talk.of("survivor")
    turn = talk.start(hint="en")
    texts = " ".join(m.text for m in turn.messages)
    assert "This chat is erased" not in texts
    assert "recent messages" in texts and "delete yourself" in texts
    assert "/hide" in texts
    help_turn = talk.send("/help")
    said = " ".join(m.text for m in help_turn.messages)
    assert "/hide" in said and "recent messages" in said


def test_hide_after_the_conversation_ended_clears_the_chat_and_promises_no_answers() -> None:
    talk = at_recall()
    talk.numbered = False  # a chat (Telegram)
    assert talk.send("/exit").session is None
    talk.session = None  # the next message starts a fresh session, as the dispatcher does
    turn = talk.send("/hide")
    assert turn.effects == (EraseChat(),) and turn.end is None
    assert [m.text for m in turn.messages] == ["Done: this chat's messages are cleared."]
    assert talk.session is not None and talk.session.answers == {}


def test_at_a_terminal_hide_and_pause_promise_nothing_the_terminal_cannot_do() -> None:
    """Found by a fresh-eyed tester: at a terminal /pause offered a button that no longer
    existed ("tap the button below") and /hide, piped, said both "cannot clear" and
    "Done: cleared". The engine leaves what was cleared to the terminal (bot/console.py)."""
    talk = at_recall()
    turn = talk.send("/pause")
    texts = " ".join(m.text for m in turn.messages)
    assert "button" not in texts and "on your phone" not in texts
    assert "stays on this screen" in texts
    assert all(not m.choices for m in turn.messages[-1:])
    talk = at_recall()
    turn = talk.send("/hide")
    texts = " ".join(m.text for m in turn.messages)
    assert turn.effects == (EraseChat(),) and "cleared" not in texts
    assert "Your answers are kept" in texts
