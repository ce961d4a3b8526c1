"""The fake Bot API refuses what Telegram refuses, so the other tests can trust it."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, RetryAfter, TelegramError

from tests.fakebotapi import TOKEN, FakeBotAPI, FakeRequest


@pytest.fixture
async def fake_bot() -> tuple[FakeBotAPI, Bot]:
    api = FakeBotAPI()
    bot = Bot(TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api))
    await bot.initialize()
    return api, bot


async def test_sends_and_records_a_message(fake_bot: tuple[FakeBotAPI, Bot]) -> None:
    api, bot = fake_bot
    api.queue(api.text(42, "hi"))
    message = await bot.send_message(42, "hello", protect_content=True)
    assert message.message_id == 2  # the person's message took id 1
    assert api.bot_texts(42) == ["hello"]
    assert api.visible(42)[-1].protect_content


async def test_refuses_text_over_4096_and_empty_text(fake_bot: tuple[FakeBotAPI, Bot]) -> None:
    _, bot = fake_bot
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(BadRequest, match="empty"):
        await bot.send_message(42, "  ")
    await bot.send_message(42, "x" * 4096)


async def test_counts_length_like_telegram_in_utf16(fake_bot: tuple[FakeBotAPI, Bot]) -> None:
    _, bot = fake_bot
    with pytest.raises(BadRequest):
        await bot.send_message(42, "😀" * 2049)


async def test_refuses_callback_data_over_64_bytes(fake_bot: tuple[FakeBotAPI, Bot]) -> None:
    _, bot = fake_bot
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(42, "q", reply_markup=markup)


async def test_delete_messages_takes_1_to_100_ids(fake_bot: tuple[FakeBotAPI, Bot]) -> None:
    api, bot = fake_bot
    with pytest.raises(BadRequest):
        await bot.delete_messages(42, list(range(1, 102)))
    with pytest.raises(BadRequest):
        await bot.delete_messages(42, [])
    sent = await bot.send_message(42, "x")
    assert await bot.delete_messages(42, [sent.message_id, 99])
    assert api.visible(42) == []


async def test_old_messages_are_not_deleted(fake_bot: tuple[FakeBotAPI, Bot]) -> None:
    api, bot = fake_bot
    sent = await bot.send_message(42, "x")
    api.advance(49 * 3600)
    await bot.delete_messages(42, [sent.message_id])
    assert api.bot_texts(42) == ["x"]


async def test_unknown_method_missing_field_and_wrong_type(
    fake_bot: tuple[FakeBotAPI, Bot],
) -> None:
    api, bot = fake_bot
    with pytest.raises(TelegramError):
        await bot.do_api_request("sendMessageNow", {"chat_id": 1, "text": "x"})
    with pytest.raises(BadRequest, match="required"):
        await bot.do_api_request("sendMessage", {"chat_id": 1})
    with pytest.raises(BadRequest, match="parse"):
        await bot.do_api_request("sendMessage", {"chat_id": 1, "text": "x", "protect_content": 3})
    assert [c.ok for c in api.calls[-3:]] == [False, False, False]


async def test_injected_retry_after_then_success(fake_bot: tuple[FakeBotAPI, Bot]) -> None:
    api, bot = fake_bot
    api.fail("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.send_message(42, "x")
    await bot.send_message(42, "x")
    assert api.bot_texts(42) == ["x"]


async def test_get_updates_returns_queued_updates(fake_bot: tuple[FakeBotAPI, Bot]) -> None:
    api, bot = fake_bot
    api.queue(api.text(42, "/start ar", language="ar"))
    updates = await bot.get_updates(timeout=0)
    assert updates[0].message is not None and updates[0].message.text == "/start ar"
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
