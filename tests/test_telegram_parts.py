"""Splitting, signing and batching: the Telegram channel's small pure pieces."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.telegram.erase import batches, older_messages_may_remain
from bot.telegram.keyboards import ButtonSigner, keyboard_for
from bot.telegram.sender import split_text, utf16_len
from flows.i18n import translator
from flows.types import Choice, Outbound

SIGNER = ButtonSigner(b"k" * 32)


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    paragraph = "a" * 3000
    parts = split_text(f"{paragraph}\n\n{paragraph}")
    assert parts == [paragraph, paragraph]
    lines = "\n".join(["b" * 1000] * 6)
    assert all(p.startswith("b") and not p.startswith("\n") for p in split_text(lines))
    assert split_text(lines)[0] == "\n".join(["b" * 1000] * 4)
    words = " ".join(["word"] * 2000)
    assert all(not p.startswith(" ") and not p.endswith("wor") for p in split_text(words))


@given(st.text(min_size=1, max_size=12000))
def test_split_never_exceeds_4096_units_and_loses_no_words(text: str) -> None:
    parts = split_text(text)
    assert all(1 <= utf16_len(p) <= 4096 for p in parts)
    assert "".join("".join(p.split()) for p in parts) == "".join(text.split())


def test_split_counts_like_telegram() -> None:
    emoji = "😀" * 3000  # 6000 UTF-16 units, one "word"
    parts = split_text(emoji)
    assert [utf16_len(p) for p in parts] == [4096, 6000 - 4096]


def test_button_data_fits_64_bytes_and_verifies_only_for_its_person() -> None:
    data = SIGNER.sign("respondent-a", "review-change", "perpetrators-signs", 3, "n0nc")
    assert len(data.encode()) <= 64
    pressed = SIGNER.verify("respondent-a", data)
    assert pressed is not None and pressed.value == "perpetrators-signs"
    assert pressed.is_for("review-change") and not pressed.is_for("harms")
    assert SIGNER.verify("respondent-b", data) is None
    assert ButtonSigner(b"x" * 32).verify("respondent-a", data) is None


def test_overlong_option_ids_travel_as_their_number() -> None:
    long_id = "an-option-id-that-is-far-too-long-to-fit-in-callback-data"
    data = SIGNER.sign("r", "a-rather-long-step-identifier", long_id, 7, "abcd")
    assert len(data.encode()) <= 64
    pressed = SIGNER.verify("r", data)
    assert pressed is not None and pressed.value is None and pressed.number == 7


@given(st.text(max_size=80))
def test_made_up_data_never_verifies(data: str) -> None:
    assert SIGNER.verify("r", data) is None


def test_multiple_choice_keyboard_marks_selected_and_has_done() -> None:
    ask = Outbound(
        text="Which?",
        ask="harms",
        kind="multiple-choice",
        choices=(Choice(1, "a", "Alpha"), Choice(2, "b", "Beta")),
        multi=True,
        selected=("b",),
    )
    markup = keyboard_for(ask, "r", SIGNER, translator("en"))
    assert markup is not None
    labels = [row[0].text for row in markup.markup().inline_keyboard]
    assert labels == ["Alpha", "✓ Beta", "Done"]


def test_erase_batches_are_sorted_distinct_and_at_most_100() -> None:
    chunks = batches([*range(250, 0, -1), 5, 5])
    assert [len(c) for c in chunks] == [100, 100, 50]
    assert chunks[0][0] == 1 and chunks[-1][-1] == 250
    assert older_messages_may_remain([3, 4]) and not older_messages_may_remain([1, 2])


def test_the_production_application_throttles_to_telegram_limits() -> None:
    from telegram.ext import AIORateLimiter

    from bot.telegram.app import build_application
    from bot.telegram.channel import TelegramChannel
    from tests.fakebotapi import TOKEN

    channel = TelegramChannel(dispatcher=None, signer=SIGNER)
    app = build_application(TOKEN, channel)
    assert isinstance(app.bot.rate_limiter, AIORateLimiter)
    assert not app.persistence  # state lives in the encrypted store, not in PTB
    handlers = [type(h).__name__ for h in app.handlers[0]]
    assert handlers == ["MessageHandler", "CallbackQueryHandler", "ChatMemberHandler"]


def test_language_hints_from_deep_links_and_telegram_codes() -> None:
    from bot.telegram.updates import language_hint

    assert language_hint("en-US") == "en"
    assert language_hint("ar") == "ar"
    assert language_hint("pt_BR") == "pt"
    assert language_hint("not a language") is None
    assert language_hint(None) is None


async def test_a_message_that_timed_out_may_have_been_shown() -> None:
    """A timed-out attempt may still have reached the person: such a give-up says so."""
    from telegram.error import BadRequest, NetworkError, TimedOut

    from bot.telegram.sender import RetryPolicy, SendFailed, with_retries

    async def no_wait(_: float) -> None:
        return None

    def failing(*errors: Exception):  # type: ignore[no-untyped-def]
        queue = list(errors)

        async def call() -> int:
            raise queue.pop(0)

        return call

    policy = RetryPolicy(attempts=3, first_backoff=0)
    cases = [
        ((TimedOut(), BadRequest("no")), True),
        ((NetworkError("down"),) * 3, False),
        ((NetworkError("down"), TimedOut(), NetworkError("down")), True),
        ((BadRequest("no"),), False),
    ]
    for errors, maybe_shown in cases:
        try:
            await with_retries(failing(*errors), policy, no_wait)
        except SendFailed as failed:
            assert failed.maybe_delivered is maybe_shown, errors
        else:
            raise AssertionError("no give-up")
