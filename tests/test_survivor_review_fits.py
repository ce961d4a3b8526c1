"""Issue 14: a review that fits a phone.

Only the account's answers are listed, split only between answers, each message within
Telegram's 4,096 UTF-16 code units; the change list comes in groups; an account with
every answer skipped says so and asks whether to send it anyway.
"""

from __future__ import annotations

import pytest

from flows.render import TELEGRAM_LIMIT, units
from flows.types import Inbound
from tests.test_survivor_way_in import THE_WAY_IN, Chat

LONG = (
    "They came at night and took us to a building near the market. "
    "I remember the sound of the doors and the names they called us. 😔 "
) * 40  # about 5,000 characters, with characters outside the BMP (two UTF-16 units)


def to_review(chat: Chat, *, text: str = LONG, skip: bool = False) -> None:
    """Answer every question (long free texts, the first options) up to the review."""
    for _ in range(200):
        state = chat.asking
        if state == "review":
            return
        last = chat.said[-1]
        if state in THE_WAY_IN and not (skip and state in ("urgency", "told-before")):
            chat.tap(THE_WAY_IN[state])
        elif state == "more":
            chat.tap("done")
        elif state == "check-in":
            chat.tap("continue")
        elif state in ("harms-go-on", "feeling", "consent-final", "urgent-go-on"):
            chat.tap(last.choices[0].value)
        elif skip:
            chat.send(Inbound(kind="command", command="skip"))
        elif not last.choices:
            chat.send(Inbound(kind="text", text=text))
        elif last.multi:
            # Every option that goes with others: a long review, as a long account has.
            alone = ("none", "nothing-now", "unknown", "dont-know", "prefer-not", "done")
            ticked = [str(c.n) for c in last.choices if c.value not in alone]
            chat.send(Inbound(kind="text", text=", ".join(ticked)))
        else:
            chat.tap(last.choices[0].value)
    raise AssertionError("the review was never reached")


def review_messages(chat: Chat) -> list[str]:
    """The messages of the turn that showed the review (after the last consent check)."""
    last_check = max(i for i, m in enumerate(chat.said) if m.ask == "consent-final")
    return [m.text for m in chat.said[last_check + 1 :]]


@pytest.mark.parametrize("language", ["en", "ar", "uk"])
def test_every_review_message_fits_one_telegram_message_and_no_answer_is_split(
    language: str,
) -> None:
    chat = Chat()
    chat.start(hint=language)
    to_review(chat)
    messages = review_messages(chat)
    assert len(messages) > 1  # long enough to need several messages
    assert all(units(m) <= TELEGRAM_LIMIT for m in messages)
    for n, message in enumerate(messages):
        # Each message after the first starts with a whole answer, and every answer's
        # line follows its question in the same message.
        assert n == 0 or message.startswith("• "), message[:60]
        items = message.split("• ")[1:]
        assert items or n == len(messages) - 1
        for item in items:
            arrow = "\n\u200f   ← " if language == "ar" else "\n   → "  # issue f3: RTL
            assert arrow in item, item[:80]


def test_the_review_lists_only_the_accounts_answers() -> None:
    chat = Chat()
    chat.start()
    to_review(chat, text="A few words.")
    review = "\n".join(review_messages(chat))
    for process in (
        "Is this still what you want?",
        "Shall I go on?",
        "Are you somewhere you can write privately",
        "Which language",
        "Can you skip a question",
        "Are you 18 or older?",
        "How are you feeling",
    ):
        assert process not in review, process
    # Each answer under its short label (issue f3), not its question.
    for account in ("• What happened, in your words\n", "• Public reports, without your name\n"):
        assert account in review


def test_the_change_list_comes_in_groups() -> None:
    chat = Chat()
    chat.start()
    to_review(chat, text="A few words.")
    chat.tap("change")
    groups = chat.said[-1]
    assert chat.said[-1].text == "Which part would you like to change?"
    assert [c.label for c in groups.choices] == [
        "What happened",
        "When and where",
        "Who",
        "Why",
        "After it happened",
        "Consent",
        "Go back",  # issue f3: a way out on the screen
    ]
    chat.tap("topic:when-where")
    assert [c.value for c in chat.said[-1].choices] == [
        "urgency",
        "when-started",
        "how-often",
        "place",
        "/back",
    ]
    chat.send(Inbound(kind="command", command="back"))
    assert chat.said[-1].text == "Which part would you like to change?"
    chat.tap("topic:consent")
    assert len(chat.said[-1].choices) <= 8  # seven answers and "Go back"
    chat.tap("consent-reports")
    assert chat.asking == "consent-reports"


def test_i_want_to_change_something_is_not_kept_once_the_change_is_made() -> None:
    chat = Chat()
    chat.start()
    answers = dict(THE_WAY_IN)
    for _ in range(200):
        if chat.asking == "consent-final":
            break
        last = chat.said[-1]
        if chat.asking in answers:
            chat.tap(answers[chat.asking or ""])
        elif chat.asking == "more":
            chat.tap("done")
        elif not last.choices:
            chat.send(Inbound(kind="text", text="A few words."))
        else:
            chat.send(Inbound(kind="command", command="skip"))
    chat.tap("change")
    chat.tap("change")  # at the review: change an answer
    chat.tap("topic:consent")
    chat.tap("consent-reports")
    chat.tap("no")
    # The last consent check comes again, with the new summary, before the review.
    assert chat.asking == "consent-final"
    assert "Use it without my identity in public reports: No" in chat.said[-1].text
    chat.tap("keep")
    assert chat.asking == "review"
    turn = chat.tap("send")
    assert turn.account is not None
    final = [a for a in turn.account.answers if a.step == "consent-final"]
    assert [a.value for a in final] == ["keep"]


def test_an_account_with_every_answer_skipped_says_so_and_asks_to_send_anyway() -> None:
    chat = Chat()
    chat.start()
    to_review(chat, skip=True)
    review = chat.said[-1]
    assert review.text == (
        "You skipped every question, so nothing about what happened was recorded. "
        "That's okay. Do you want to send it anyway?"
    )
    assert [c.label for c in review.choices] == ["Send it anyway", "Change an answer"]
    turn = chat.tap("send")
    assert turn.end is None or turn.end == "submitted"
