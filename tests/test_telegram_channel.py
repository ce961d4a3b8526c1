"""The Telegram channel as a person meets it: real PTB Application, fake Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.telegram.keyboards import SELECTED_MARK
from tests.fakebotapi import FakeBotAPI
from tests.telegram_harness import CHAT, Harness, autopilot, open_harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = await open_harness()
    yield h
    await h.app.shutdown()


@pytest.fixture
async def media_harness() -> AsyncIterator[Harness]:
    h = await open_harness(flow="telegram-media", max_bytes=64 * 1024)
    yield h
    await h.app.shutdown()


def sent_calls(api: FakeBotAPI) -> list[dict[str, Any]]:
    return [c.params for c in api.called("sendMessage")]


async def test_a_whole_interview_by_buttons_and_text(harness: Harness) -> None:
    first = await harness.say("/start")
    assert first == ["Which language would you like to use?"]
    passed = await autopilot(harness)
    assert passed[0] == "language" and passed[-1] == "review"
    assert "recall" in passed and "harms" in passed
    [account] = harness.store.outbox
    answers = {a["step"]: a for a in account.body["answers"]}
    assert answers["recall"]["value"] == "My answer to recall."
    assert answers["safety"]["value"] == "yes"
    assert "Your reference code is" in harness.api.bot_texts(CHAT)[-1]
    # Every message the bot sent is protected from forwarding and saving.
    assert all(p["protect_content"] is True for p in sent_calls(harness.api))
    # Every button press was answered, so no button kept spinning.
    presses = sum(1 for c in harness.api.calls if c.method == "answerCallbackQuery")
    assert presses > 20


async def test_the_application_keeps_no_list_of_who_wrote(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    await harness.say("a sticker or anything", chat=CHAT + 1)
    app = harness.app
    # PTB without persistence would keep every chat and user id seen, for good.
    assert not app._chat_ids_to_be_updated_in_persistence
    assert not app._user_ids_to_be_updated_in_persistence
    assert not app.chat_data and not app.user_data


async def test_multiple_choice_toggles_with_a_mark_and_done(harness: Harness) -> None:
    await harness.say("/start")
    await autopilot_until(harness, "harms")
    message_id, buttons = harness.last_keyboard()
    first = buttons[0][0]
    await harness.press(first)
    same_id, redrawn = harness.last_keyboard()
    assert same_id == message_id  # redrawn in place, not a new message
    assert redrawn[0][0] == SELECTED_MARK + first
    await harness.press(first)  # pressed again: unselected
    assert harness.last_keyboard()[1][0][0] == first
    await harness.press(first)
    await harness.press("Done")
    assert (await harness.answers())["harms"].status == "answered"
    assert await harness.state() != "harms"


async def test_prefer_not_to_say_is_a_button_where_offered(harness: Harness) -> None:
    await harness.say("/start")
    await autopilot_until(harness, "harms")
    labels = [label for label, _ in harness.last_keyboard()[1]]
    assert "Prefer not to say" in labels
    await harness.press("Prefer not to say")
    assert (await harness.answers())["harms"].status == "prefer-not"


async def autopilot_until(h: Harness, target: str) -> None:
    """Answer questions until `target` is being asked."""
    engine = h.dispatcher._engines["survivor"]
    for _ in range(100):
        state = await h.state()
        if state == target:
            return
        assert state is not None
        step = engine.flow.step(state) if engine.flow.has_step(state) else None
        if step is not None and step.kind in ("free-text", "approximate-date", "place"):
            await h.say("Something.")
            continue
        labels = [t for t, _ in h.last_keyboard()[1]]
        if step is not None and step.kind == "multiple-choice":
            await h.press(labels[0])
            await h.press("Done")
            continue
        preferred = ("Done", "Go on", "It happened to me", "18 or older")
        await h.press(next((p for p in preferred if any(p in x for x in labels)), labels[0]))
    raise AssertionError(f"never reached {target}")


async def test_a_stale_button_is_refused_with_a_re_prompt(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    safety_id, safety_buttons = harness.last_keyboard()
    await harness.press("Yes")  # safety answered; now the route question
    assert await harness.state() == "route"
    stale = next(d for t, d in safety_buttons if t == "No")
    before = len(harness.api.messages[CHAT])
    await harness.deliver(harness.api.press(CHAT, safety_id, stale))
    assert await harness.state() == "route"  # nothing moved
    assert (await harness.answers())["safety"].value == "yes"  # nothing changed
    said = harness.new_texts(CHAT, before)
    assert said and "happened to you" in said[-1]  # asked the current question again


async def test_a_forged_button_and_one_from_another_chat_are_refused(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    message_id, buttons = harness.last_keyboard()
    value, tag, nonce, _mac = buttons[2][1].split("|")  # "No"
    forged = f"{value}|{tag}|{nonce}|AAAAAAAAAAAAAA"
    await harness.deliver(harness.api.press(CHAT, message_id, forged))
    await harness.deliver(harness.api.press(CHAT, message_id, "no"))
    assert await harness.state() == "safety"
    assert "safety" not in await harness.answers()
    # Another person copies the first person's button into their own chat.
    other = CHAT + 1
    await harness.say("/start", chat=other)
    await harness.press("English", chat=other)
    other_id, _ = harness.last_keyboard(other)
    await harness.deliver(harness.api.press(other, other_id, buttons[2][1]))
    assert await harness.state(other) == "safety"
    assert "safety" not in await harness.answers(other)


async def test_quick_exit_deletes_both_sides_and_leaves_the_neutral_line(
    harness: Harness,
) -> None:
    await harness.say("/start")
    await harness.press("English")
    await harness.press("Yes")
    await harness.say("/exit")
    deleted = {i for c in harness.api.called("deleteMessages") for i in c.params["message_ids"]}
    everything_before = set(range(1, max(deleted) + 1))
    assert deleted == everything_before  # the person's /start and /exit, the bot's asks
    visible = harness.api.visible(CHAT)
    assert [m.text for m in visible] == ["Thanks, all done."]
    assert await harness.state() is None  # the draft is shredded


async def test_quick_exit_deletes_in_batches_of_100(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    for _ in range(70):  # the same question again and again: 140 messages
        await harness.say("I am not sure what to say")
    await harness.say("/exit")
    batches = [c.params["message_ids"] for c in harness.api.called("deleteMessages")]
    assert len(batches) >= 2 and all(1 <= len(b) <= 100 for b in batches)
    assert [m.text for m in harness.api.visible(CHAT)] == ["Thanks, all done."]


async def test_messages_older_than_48_hours_are_named_after_sending(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    harness.api.advance(49 * 3600)
    harness.channel._clock = lambda: _later(49)  # the channel's clock moves too
    await harness.say("/start")  # back after two days: resume
    await autopilot(harness)
    assert any("older than 48 hours" in t for t in harness.api.bot_texts(CHAT))


def _later(hours: int) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(hours=hours)


async def test_a_group_chat_gets_one_note_and_the_bot_leaves(harness: Harness) -> None:
    group = -100123
    await harness.deliver(harness.api.text(group, "/start", chat_type="supergroup"))
    await harness.deliver(harness.api.text(group, "hello", chat_type="supergroup"))
    notes = [p for p in sent_calls(harness.api) if p["chat_id"] == group]
    assert len(notes) == 1 and "private" in notes[0]["text"]
    assert group in harness.api.left_chats
    assert harness.store.drafts == {} and harness.store.messages == {}


async def test_a_group_that_adds_the_bot_again_gets_the_note_and_the_leave_again(
    harness: Harness,
) -> None:
    group = -100777
    await harness.deliver(harness.api.text(group, "hi", chat_type="group"))
    await harness.deliver(harness.api.added_to(group, "group"))
    notes = [p for p in sent_calls(harness.api) if p["chat_id"] == group]
    assert len(notes) == 2
    assert len([c for c in harness.api.called("leaveChat") if c.params["chat_id"] == group]) == 2
    assert harness.store.drafts == {}


async def test_an_edited_message_is_not_read(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    await harness.press("Yes")
    await harness.press("It happened to me")
    before = await harness.answers()
    said = await _deliver_and_read(harness, harness.api.edited(CHAT, 1, "changed"))
    assert "/back" in said[-1]
    assert await harness.answers() == before


async def _deliver_and_read(h: Harness, update: dict[str, Any]) -> list[str]:
    before = len(h.api.messages.get(CHAT, {}))
    await h.deliver(update)
    return h.new_texts(CHAT, before)


async def test_a_sticker_gets_a_gentle_re_prompt(harness: Harness) -> None:
    await harness.say("/start")
    said = await _deliver_and_read(harness, harness.api.sticker(CHAT))
    assert "can't read this kind of message" in said[-1]
    assert await harness.state() == "language"


async def test_a_shared_contact_is_not_stored(harness: Harness) -> None:
    await harness.say("/start")
    said = await _deliver_and_read(harness, harness.api.contact(CHAT))
    assert "can't read this kind of message" in said[-1]
    session = await harness.store.load_session(harness.dispatcher.respondent("telegram", CHAT))
    assert "+000000" not in str(session.to_dict())


async def test_a_location_is_refused_removed_and_not_stored(harness: Harness) -> None:
    await harness.say("/start")
    update = harness.api.location(CHAT)
    said = await _deliver_and_read(harness, update)
    assert "don't keep shared locations" in said[-1]
    location_id = update["message"]["message_id"]
    assert all(m.message_id != location_id for m in harness.api.visible(CHAT))
    session = await harness.store.load_session(harness.dispatcher.respondent("telegram", CHAT))
    assert "44.01" not in str(session.to_dict())


async def test_a_voice_note_is_taken_where_the_step_allows_it(media_harness: Harness) -> None:
    h = media_harness
    await h.say("/start")
    assert await h.state() == "story"
    await h.deliver(h.api.voice(CHAT, b"OggS" + b"\x01" * 2000))
    answer = (await h.answers())["story"]
    assert answer.files and len(h.store.drafts) == 1
    stored = next(iter(h.store.drafts.values())).files
    assert len(stored) == 1


async def test_an_oversized_voice_note_is_refused_kindly(media_harness: Harness) -> None:
    h = media_harness
    await h.say("/start")
    said = await _deliver_and_read(h, h.api.voice(CHAT, b"\x00" * (65 * 1024)))
    assert "too large" in said[-1]
    assert await h.state() == "story" and "story" not in await h.answers()
    assert not h.api.called("getFile")  # refused before downloading


async def test_photos_only_where_a_media_step_asks(media_harness: Harness) -> None:
    h = media_harness
    await h.say("/start")
    await h.say("It happened last spring.")
    assert await h.state() == "photo"
    await h.deliver(h.api.photo(CHAT, b"\xff\xd8" + b"p" * 500))
    assert (await h.answers())["photo"].files
    assert await h.state() == "place"
    said = await _deliver_and_read(h, h.api.document(CHAT, b"%PDF" + b"d" * 100))
    assert "can't take files" in said[-1]
    assert await h.state() == "place"


async def test_voice_notes_are_refused_where_the_step_takes_no_media(harness: Harness) -> None:
    await harness.say("/start")
    said = await _deliver_and_read(harness, harness.api.voice(CHAT, b"OggS" * 10))
    assert "can't take files" in said[-1]
    assert not harness.api.called("getFile")


async def test_the_same_update_twice_is_answered_once(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    message_id, buttons = harness.last_keyboard()
    update = harness.api.press(CHAT, message_id, buttons[0][1])
    await harness.deliver(update)
    replies = len(harness.api.called("sendMessage"))
    await harness.deliver(update)
    assert len(harness.api.called("sendMessage")) == replies
    assert (await harness.answers())["safety"].value == "yes"
    assert await harness.state() == "route"


async def test_a_bot_api_error_mid_conversation_loses_nothing(harness: Harness) -> None:
    await harness.say("/start")
    harness.api.fail("sendMessage", code=502, description="Bad Gateway", times=2)
    said = await harness.press("English")
    assert said and "privately" in said[-1]  # retried until Telegram took it
    assert (await harness.answers())["language"].value == "en"


async def test_a_retry_after_mid_conversation_loses_nothing(harness: Harness) -> None:
    await harness.say("/start")
    harness.api.fail("sendMessage", retry_after=1)
    said = await harness.press("English")
    assert said and "privately" in said[-1]
    failed = [c for c in harness.api.calls if c.method == "sendMessage" and not c.ok]
    assert failed and "retry after" in (failed[0].error or "")
    assert (await harness.answers())["language"].value == "en"


async def test_a_reply_telegram_never_takes_still_keeps_the_answer(harness: Harness) -> None:
    await harness.say("/start")
    harness.api.fail("sendMessage", code=500, times=10)
    await harness.press("English")
    assert (await harness.answers())["language"].value == "en"
    said = await harness.say("hello?")  # the person writes again: asked again, not lost
    assert said and "privately" in said[-1]


async def test_deep_link_and_language_code_suggest_the_language(harness: Harness) -> None:
    said = await harness.say("/start en")
    assert "Which language" not in said[0]  # the deep link answered it
    assert (await harness.answers())["language"].value == "en"
    other = CHAT + 7
    said = await harness.say("/start", chat=other, language="en")
    assert (await harness.answers(other))["language"].value == "en"


async def test_commands_reach_the_engine(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    said = await harness.say("/help")
    assert any("Example Clinic" in t or "Helpline" in t for t in said)
    await harness.say("/skip")
    assert await harness.state() != "safety"
    await harness.say("/back")
    assert await harness.state() == "safety"


async def test_a_long_reply_is_split_cleanly(harness: Harness) -> None:
    await harness.say("/start")
    await harness.press("English")
    await autopilot_until(harness, "recall")
    paragraph = "word " * 300
    for _ in range(3):
        await harness.say(paragraph.strip() + " " + "x" * 10)
        await harness.press("Add more")
    await harness.say("end")
    await harness.press("Done")
    for p in sent_calls(harness.api):
        assert len(p["text"].encode("utf-16-le")) // 2 <= 4096


async def test_after_sending_exit_erases_the_whole_conversation(harness: Harness) -> None:
    await harness.say("/start")
    await autopilot(harness)
    assert harness.store.outbox
    await harness.say("/exit")
    assert [m.text for m in harness.api.visible(CHAT)] == ["Thanks, all done."]


class BrokenStore:
    """A store whose database has gone away."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def commit_turn(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("database unreachable")


async def test_a_turn_that_cannot_be_saved_asks_to_send_again() -> None:
    from storage.intake.memory import MemoryIntakeStore

    h = await open_harness(store=BrokenStore(MemoryIntakeStore()))
    said = await h.say("/start")
    assert said and "was not saved" in said[-1]
    await h.app.shutdown()


async def test_a_sticker_delivered_twice_gets_one_note(harness: Harness) -> None:
    await harness.say("/start")
    update = harness.api.sticker(CHAT)
    await harness.deliver(update)
    sent = len(harness.api.called("sendMessage"))
    await harness.deliver(update)
    assert len(harness.api.called("sendMessage")) == sent


async def test_a_photo_is_refused_where_only_voice_notes_are_taken(media_harness: Harness) -> None:
    h = media_harness
    await h.say("/start")
    assert await h.state() == "story"  # free text, voice notes allowed
    said = await _deliver_and_read(h, h.api.photo(CHAT, b"\xff\xd8" + b"p" * 100))
    # Where voice notes are welcome, the refusal says so (issue 12, item 8).
    assert "can't take photos, documents or videos here" in said[-1]
    assert "voice note" in said[-1]
    assert "story" not in await h.answers()
    assert not h.api.called("getFile")
