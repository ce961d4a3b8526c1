"""Files at the free recall on Telegram: voice notes and audio, never photos, documents or video.

The guide keeps files off by default (they carry places, faces and names); the recall
takes the person's own voice. Real PTB Application, fake Bot API: a refused file is
never even downloaded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.telegram_harness import CHAT, Harness, open_harness


async def to_recall(h: Harness) -> None:
    """From the first question to the free recall: the preferred button at each step."""
    await h.say("/start en")
    while (state := await h.state()) != "recall":
        assert state is not None
        if state == "told-which":
            await h.say("Another organisation.")
            continue
        if state in ("urgency", "told-before", "consent-contact", "consent-referral"):
            await h.press("No")
            continue
        _, buttons = h.last_keyboard()
        labels = [label for label, _ in buttons]
        preferred = ("Go on", "Yes", "It happened to me", "18 or older")
        await h.press(next((p for p in preferred if any(p in x for x in labels)), labels[0]))


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = await open_harness()
    yield h
    await h.app.shutdown()


@pytest.mark.parametrize("kind", ["photo", "document", "video"])
async def test_the_free_recall_refuses_photos_documents_and_video(
    harness: Harness, kind: str
) -> None:
    h = harness
    await to_recall(h)
    before = len(h.api.messages[CHAT])
    make = getattr(h.api, kind)
    await h.deliver(make(CHAT, b"\xff\xd8" + b"x" * 200))
    said = h.new_texts(CHAT, before)
    assert "can't take photos, documents or videos here" in said[-1]
    assert "voice note" in said[-1]
    assert not h.api.called("getFile")  # never downloaded
    assert "recall" not in await h.answers()
    assert await h.state() == "recall"


@pytest.mark.parametrize("kind", ["voice", "audio"])
async def test_the_free_recall_takes_voice_notes_and_audio(harness: Harness, kind: str) -> None:
    h = harness
    await to_recall(h)
    await h.deliver(getattr(h.api, kind)(CHAT, b"OggS" + b"v" * 300))
    answer = (await h.answers())["recall"]
    assert len(answer.files) == 1
    assert await h.state() == "more"
