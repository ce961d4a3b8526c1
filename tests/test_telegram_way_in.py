"""Issue 14 on Telegram: the way in counted in taps and messages, re-prompts that ask for a
tap, and a review whose every message fits one Telegram message without splitting an
answer. Real PTB objects with the offline fake Bot API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flows.render import TELEGRAM_LIMIT, units
from tests.telegram_harness import CHAT, Harness, open_harness

# The path the issue counts, by button label (English).
WAY_IN = {
    "safety": "Yes",
    "route": "It happened to me",
    "age": "Yes, 18 or older",
    "urgency": "No",
    "told-before": "No",
    "consent-pace": "Yes, go on",
    "consent-archive": "Yes, I agree",
    "consent-reports": "Yes",
    "consent-contact": "No",
    "consent-mechanisms": "Yes, but without my name",
    "consent-referral": "Yes",
    "check-skip": "Yes, any question",
    "check-stop": "Type /exit",
}


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = await open_harness()
    yield h
    await h.app.shutdown()


async def way_in(h: Harness, chat: int = CHAT) -> tuple[int, list[str]]:
    """From /start (language from Telegram's language_code) to the free recall."""
    said = await h.say("/start", chat=chat, language="en")
    taps = 0
    while (state := await h.state(chat)) != "recall":
        assert state in WAY_IN, state
        said += await h.press(WAY_IN[state], chat)
        taps += 1
    return taps, said


async def test_the_way_in_on_telegram_takes_13_taps_and_17_messages(harness: Harness) -> None:
    taps, said = await way_in(harness)
    before_recall = said[:-1]
    assert taps <= 13  # the language came from Telegram: one tap fewer than 14
    assert len(before_recall) <= 17, before_recall
    assert "Which language" not in said[0]


async def test_a_typed_answer_to_buttons_is_asked_for_a_tap(harness: Harness) -> None:
    await harness.say("/start", language="en")
    said = await harness.say("maybe")
    assert said[0] == "Sorry, I didn't understand that. Please tap one of the buttons."
    assert not any("from 1 to" in text for text in said)


async def test_every_review_message_fits_and_no_answer_is_split(harness: Harness) -> None:
    await way_in(harness)
    story = "They took us to a building near the market and kept us there. 😔 " * 60
    engine = harness.dispatcher._engines["survivor"]
    for _ in range(120):
        state = await harness.state()
        if state == "review":
            break
        step = engine.flow.step(state) if state and engine.flow.has_step(state) else None
        if step is not None and step.kind in ("free-text", "approximate-date", "place"):
            await harness.say(story[:3900])
        elif state == "more":
            await harness.press("Done")
        elif state == "check-in":
            await harness.press("Go on")
        elif step is not None and step.kind == "multiple-choice":
            await harness.say("1, 2, 3")  # typed numbers commit at once
        else:
            _, buttons = harness.last_keyboard()
            await harness.press(buttons[0][0])
    assert await harness.state() == "review"
    shown = [m.text or "" for m in harness.api.visible(CHAT) if m.from_bot]
    start = max(i for i, t in enumerate(shown) if t.startswith("Here is everything you told us:"))
    review = shown[start:]
    assert len(review) > 1
    assert all(units(t) <= TELEGRAM_LIMIT for t in review)
    for n, text in enumerate(review):
        assert n == 0 or text.startswith("• "), text[:60]
        for item in text.split("• ")[1:]:
            assert "\n   → " in item, item[:80]


async def test_an_option_with_a_long_id_toggles_and_never_commits_the_list(
    harness: Harness,
) -> None:
    """Found while writing the review test: a button carrying its option's number
    (the id is too long for Telegram's 64-byte callback data) used to be read as a typed
    number, which committed the list with that one option and dropped the others."""
    await way_in(harness)
    await harness.say("What happened, in my words.")
    await harness.press("Done")
    await harness.press("Go on")
    await harness.say("/skip")
    await harness.press("Yes, go on")
    assert await harness.state() == "harms"
    await harness.press("Sexual violence")
    await harness.press("Forced pregnancy, abortion or sterilisation")  # carried as "#3"
    assert await harness.state() == "harms"
    await harness.press("Done")
    assert (await harness.answers())["harms"].value == (
        "sexual-violence",
        "forced-pregnancy-abortion-sterilisation",
    )
