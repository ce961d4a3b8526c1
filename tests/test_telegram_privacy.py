"""What the Telegram chat itself shows: /hide, masked answers, files at the free recall.

Real PTB Application, the production dispatcher and engine, the offline fake Bot API
(which validates deleteMessages / deleteMessage and keeps what the chat would show).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flows.types import REMOVE_TEXT
from tests.telegram_harness import CHAT, Harness, open_harness

SECRETS = {
    "contact-how": "Signal +44 7700 900123, evenings",
    "contact-code-word": "BLUEHERON",
    "names-roles": "Captain Rashidov",
    "rules-who": "Commander Karimov read the decree",
}
SECRET_WORDS = ("7700", "BLUEHERON", "Rashidov", "Karimov")
TYPED = ("free-text", "approximate-date", "place")


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = await open_harness()
    yield h
    await h.app.shutdown()


async def to_state(h: Harness, stop: str, limit: int = 150) -> None:
    """Answer as a cooperative person until `stop` is asked: the secrets where asked,
    /skip where an answer is already given, a few words or the first button elsewhere."""
    flow = h.dispatcher._engines["survivor"].flow
    for _ in range(limit):
        state = await h.state()
        assert state is not None
        if state == stop:
            return
        answers = await h.answers()
        step = flow.step(state) if flow.has_step(state) else None
        if step is not None and state in answers:
            await h.say("/skip")
        elif state in SECRETS:
            await h.say(SECRETS[state])
        elif step is not None and step.kind in TYPED:
            await h.say("Some words.")
        elif state == "consent-contact":
            await h.press("Yes")
        elif step is not None and step.kind == "multiple-choice":
            _, buttons = h.last_keyboard()
            await h.press(buttons[0][0])
            await h.press("Done")
        else:
            _, buttons = h.last_keyboard()
            labels = [label for label, _ in buttons]
            preferred = ("Done", "Go on", "Yes", "It happened to me", "18 or older")
            pick = next((p for p in preferred if any(p in label for label in labels)), labels[0])
            await h.press(pick)
    raise AssertionError(f"{stop} was never asked")


def everything_shown(h: Harness, since_call: int) -> str:
    """Every text and button label the bot sent or redrew since the `since_call`th call."""
    shown = []
    for call in h.api.calls[since_call:]:
        if call.method in ("sendMessage", "editMessageText"):
            shown.append(call.params.get("text", ""))
            markup = call.params.get("reply_markup") or {}
            if isinstance(markup, str):
                shown.append(markup)
            else:
                for row in markup.get("inline_keyboard", []):
                    shown.extend(button.get("text", "") for button in row)
    return "\n".join(shown)


async def test_hide_deletes_the_chat_keeps_the_draft_and_resume_goes_on(harness: Harness) -> None:
    h = harness
    await h.say("/start en")
    await to_state(h, "recall")
    await h.say("They came at night.")
    before = await h.answers()
    said = await h.say("/hide")
    deleted = {i for c in h.api.called("deleteMessages") for i in c.params["message_ids"]}
    assert deleted and min(deleted) == 1  # the whole conversation, both sides
    visible = h.api.visible(CHAT)
    assert [m.text for m in visible] == said and len(said) == 1
    assert "your answers are kept" in said[0]
    assert await h.answers() == before  # the encrypted draft is kept
    said = await h.say("/resume")
    assert await h.state() == "more"
    assert "add more" in said[-1]
    await h.press("Done")
    assert await h.state() == "check-in"


async def test_the_pause_message_hides_the_chat_with_one_tap(harness: Harness) -> None:
    h = harness
    await h.say("/start en")
    await to_state(h, "recall")
    said = await h.say("/pause")
    assert "stays visible" in said[-1]
    said = await h.press("Hide this chat")
    assert h.api.called("deleteMessages")
    assert [m.text for m in h.api.visible(CHAT)] == said
    said = await h.say("/start")
    assert await h.state() == "resume"
    await h.press("Continue")
    assert await h.state() == "recall"


async def test_hide_names_older_messages_it_cannot_delete(harness: Harness) -> None:
    from datetime import UTC, datetime, timedelta

    h = harness
    await h.say("/start en")
    await h.press("Yes")
    h.api.advance(49 * 3600)
    h.channel._clock = lambda: datetime.now(UTC) + timedelta(hours=49)
    await h.say("/pause")
    said = await h.say("/hide")
    assert "older than 48 hours" in said[-1]
    still = [m.text for m in h.api.visible(CHAT)]
    assert still[:2] == [
        "/start en",
        "Hello, and thank you for being here. This chat lets you tell what happened to you, in your own words and at your own pace.",
    ]  # too old to delete


async def test_once_typed_code_word_and_contact_details_never_show_again(
    harness: Harness,
) -> None:
    h = harness
    await h.say("/start en")
    await to_state(h, "contact-how")
    first_typed = len(h.api.calls)
    await to_state(h, "review")
    review = h.api.bot_texts(CHAT)[-1]
    assert "Set (hidden)" in review
    # Look at the code word again from the review, remove the names, send.
    await h.press("Change an answer")
    await h.press("Consent")  # issue 14: the change list is grouped
    await h.press("Your code word")  # the change list shows labels, not questions
    assert (
        "(You answered this before. What you send now takes its place.)"
        in (h.api.bot_texts(CHAT)[-1])
    )
    await h.say("/skip")
    await h.press("Change an answer")
    await h.press("Who")
    await h.press("Names, ranks or roles")
    said = await h.press("Remove what I wrote")
    assert "This deletes what you wrote" in said[-1]
    said = await h.press("Delete what I wrote")
    assert "What you wrote here is removed" in said[0]
    await h.say("/skip")
    assert await h.state() == "review"
    await h.press("Send my account")
    later = everything_shown(h, first_typed)
    for word in SECRET_WORDS:
        assert word.casefold() not in later.casefold(), word
    [account] = h.store.outbox
    values = {a["step"]: a["value"] for a in account.body["answers"]}
    assert values["contact-code-word"] == "BLUEHERON"
    assert values["names-roles"] is None
    assert REMOVE_TEXT not in later
