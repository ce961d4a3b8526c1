"""Issue 12 on Telegram: a button that deletes everything asks once more, with buttons.

Real PTB objects and the offline fake Bot API: what a person sees and presses in the chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.telegram_harness import Harness, open_harness
from tests.test_telegram_channel import autopilot_until


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = await open_harness()
    yield h
    await h.app.shutdown()


async def test_stop_here_names_what_it_deletes_and_go_back_keeps_everything(
    harness: Harness,
) -> None:
    await harness.say("/start")
    await autopilot_until(harness, "recall")
    await harness.say("They came at night.")
    await harness.press("Done")
    await harness.press("Go on")
    await harness.say("/skip")  # the follow-up
    assert await harness.state() == "harms-go-on"
    said = await harness.press("delete what I wrote")
    assert said[-1].startswith("This deletes everything you wrote")
    assert [label for label, _ in harness.last_keyboard()[1]] == ["Delete", "Go back"]
    await harness.press("Go back")
    assert await harness.state() == "harms-go-on"
    assert (await harness.answers())["recall"].value == "They came at night."
    await harness.press("delete what I wrote")
    said = await harness.press("Delete")
    assert await harness.state() is None
    assert "Nothing you wrote here is kept" in said[-1]
    assert not harness.store.outbox


async def test_typed_choices_that_cannot_go_together_are_named_in_the_chat(
    harness: Harness,
) -> None:
    await harness.say("/start")
    await autopilot_until(harness, "evidence")
    said = await harness.say("7, 8")
    assert said[0].startswith("You chose “No, nothing” and “Other, in your own words”.")
    assert await harness.state() == "evidence"
    await harness.say("8")
    assert await harness.state() == "evidence-other"
