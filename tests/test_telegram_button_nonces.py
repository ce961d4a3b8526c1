"""A button counts only in the session that asked it (issue 13, item 5).

The attack: the callback MAC covers a per-ask nonce that was never checked, and the
person's pseudonym is the same in every session. So a button from before /exit, pressed
in the new session when the same question was asked again, passed the MAC and the step
check and answered it: someone who took the phone after a quick exit could replay the
old answers. The session now keeps the nonce of each question it asked, and a press with
any other nonce is refused (the engine asks again).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.dispatcher import with_nonces
from flows.types import Choice, Outbound, Session, Turn
from storage.intake.replies import PendingReply
from tests.telegram_harness import CHAT, Harness, open_harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = await open_harness()
    yield h
    await h.app.shutdown()


def _button(buttons: list[tuple[str, str]], label: str) -> str:
    return next(data for text, data in buttons if text == label)


async def _session(h: Harness) -> Session:
    session = await h.store.load_session(h.dispatcher.respondent("telegram", CHAT))
    assert session is not None
    return session


async def test_a_button_from_before_quick_exit_does_nothing_in_the_new_session(
    harness: Harness,
) -> None:
    h = harness
    await h.say("/start")
    language_id, language_buttons = h.last_keyboard()
    await h.press("English")
    safety_id, safety_buttons = h.last_keyboard()
    assert await h.state() == "safety"
    await h.say("/exit")  # chat erased, draft shredded
    assert await h.state() is None

    await h.say("/start")
    assert await h.state() == "language"
    # The old "English", then (once the new session asks it) the old "Yes" to safety.
    await h.deliver(h.api.press(CHAT, language_id, _button(language_buttons, "English")))
    assert await h.state() == "language" and "language" not in await h.answers()
    await h.press("English")
    assert await h.state() == "safety"
    before = len(h.api.messages[CHAT])
    await h.deliver(h.api.press(CHAT, safety_id, _button(safety_buttons, "Yes")))
    assert await h.state() == "safety"  # nothing moved
    assert "safety" not in await h.answers()
    said = h.new_texts(CHAT, before)
    assert said, "the question is asked again"
    # The new session's own button still works.
    await h.press("Yes")
    assert await h.state() == "route"


async def test_a_button_of_the_same_question_asked_again_in_the_session_still_answers_it(
    harness: Harness,
) -> None:
    h = harness
    await h.say("/start")
    await h.press("English")
    safety_id, safety_buttons = h.last_keyboard()
    await h.say("what is this?")  # not an answer: the question is asked again
    assert await h.state() == "safety"
    assert h.last_keyboard()[0] != safety_id
    await h.deliver(h.api.press(CHAT, safety_id, _button(safety_buttons, "Yes")))
    assert await h.state() == "route"


async def test_the_session_keeps_one_nonce_per_question_and_signs_it_into_its_buttons(
    harness: Harness,
) -> None:
    h = harness
    await h.say("/start")
    await h.press("English")
    session = await _session(h)
    assert set(session.nonces) == {"language", "safety"}
    assert len(set(session.nonces.values())) == 2
    _, buttons = h.last_keyboard()
    assert all(data.split("|")[2] == session.nonces["safety"] for _, data in buttons)


async def test_a_forged_nonce_with_a_valid_mac_for_it_is_still_refused(harness: Harness) -> None:
    # Someone holding the button key could sign any nonce; the node signs only kept ones,
    # and a press must carry the kept one, so a nonce never asked in this session is out.
    h = harness
    await h.say("/start")
    await h.press("English")
    respondent = h.dispatcher.respondent("telegram", CHAT)
    message_id, _ = h.last_keyboard()
    made = h.channel.signer.sign(respondent, "safety", "yes", 1, "AAAAAAAA")
    await h.deliver(h.api.press(CHAT, message_id, made))
    assert await h.state() == "safety" and "safety" not in await h.answers()


def test_a_step_asked_again_keeps_its_nonce_and_a_new_step_gets_a_fresh_one() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    session = Session("r", "survivor", "1", "en", "safety", updated_at=now)
    ask = Outbound(text="Safe?", ask="safety", choices=(Choice(1, "yes", "Yes"),))
    first = with_nonces(Turn(session=session, messages=(ask,)), b"\x01" * 16)
    assert first.session is not None
    nonce = first.session.nonces["safety"]
    assert first.messages[0].nonce == nonce and len(nonce) == 8
    again = with_nonces(Turn(session=first.session, messages=(ask,)), b"\x02" * 16)
    assert again.messages[0].nonce == nonce
    other = Outbound(text="Route?", ask="route", choices=(Choice(1, "me", "Me"),))
    later = with_nonces(Turn(session=first.session, messages=(other,)), b"\x03" * 16)
    assert later.session is not None and later.session.nonces["route"] not in (nonce,)
    text_only = Outbound(text="Tell me", ask="recall")
    assert with_nonces(Turn(session=session, messages=(text_only,)), b"\x04" * 16).messages == (
        text_only,
    )
    # Sessions and kept replies carry them through storage.
    assert Session.from_dict(later.session.to_dict()).nonces == later.session.nonces
    kept = PendingReply(messages=first.messages, language="en")
    assert PendingReply.from_dict(kept.to_dict()).messages[0].nonce == nonce
