"""Files in the engine: a free-text step with `media: true` keeps the person's voice only."""

from __future__ import annotations

import pytest

from tests.test_engine import at_recall


@pytest.mark.parametrize("kind", ["photo", "document", "video"])
def test_the_recall_refuses_photos_documents_and_video_and_keeps_nothing(kind: str) -> None:
    talk = at_recall()
    turn = talk.media(kind)
    assert "can't take photos, documents or videos here" in turn.messages[0].text
    assert "voice note" in turn.messages[0].text
    assert talk.state == "recall" and talk.session is not None
    assert "recall" not in talk.session.answers


def test_a_refused_file_while_adding_more_leaves_the_story_as_it_was() -> None:
    talk = at_recall()
    talk.send("They came at night.")
    talk.press("more")
    talk.media("photo")
    assert talk.session is not None
    assert talk.session.answers["recall"].files == ()
    assert talk.session.answers["recall"].parts == ("They came at night.",)


@pytest.mark.parametrize("kind", ["voice", "audio"])
def test_the_recall_keeps_voice_notes_and_audio(kind: str) -> None:
    talk = at_recall()
    turn = talk.media(kind)
    assert turn.messages[-1].ask == "more"
    assert talk.session is not None and len(talk.session.answers["recall"].files) == 1
