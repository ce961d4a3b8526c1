"""Polling confirms an update to Telegram only once it is handled, so a crash loses none."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram import Bot, Update

from bot.telegram.polling import DurablePolling
from tests.fake_bot_server import serve_fake_api
from tests.fakebotapi import TOKEN, FakeBotAPI, FakeRequest
from tests.test_telegram_e2e import (
    CHAT,
    attest_run,
    bot_env,
    bot_messages,
    newest_buttons,
    stored_session,
    wait_for,
)

ALLOWED = ("message", "callback_query")


def pending_ids(api: FakeBotAPI) -> list[int]:
    """Update ids Telegram still holds (not yet confirmed by an offset)."""
    with api._lock:
        return [u["update_id"] for u in api._updates]


async def settle(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.fixture
async def polled() -> AsyncIterator[tuple[Bot, FakeBotAPI]]:
    api = FakeBotAPI()
    made = Bot(
        TOKEN,
        request=FakeRequest(api, poll_step=0.005),
        get_updates_request=FakeRequest(api, poll_step=0.005),
    )
    async with made:
        yield made, api


async def test_an_update_in_flight_stays_unconfirmed_while_others_go_on(
    polled: tuple[Bot, FakeBotAPI],
) -> None:
    bot, api = polled
    slow = api.queue(api.text(1, "slow"))["update_id"]
    api.queue(api.text(2, "b1"))
    api.queue(api.text(2, "b2"))
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(update: Update) -> None:
        if update.update_id == slow:
            await release.wait()
        handled.append(update.update_id)

    polling = DurablePolling(bot, handle, allowed_updates=ALLOWED, timeout=1)
    stop = asyncio.Event()
    running = asyncio.create_task(polling.run(stop))
    await settle(lambda: len(handled) == 2)
    # The others are done, but Telegram still holds the slow one: a crash now loses nothing.
    await asyncio.sleep(0.1)
    assert slow in pending_ids(api)
    assert polling.in_flight == 1
    release.set()
    await settle(lambda: len(handled) == 3)
    stop.set()
    await running
    assert sorted(handled) == sorted({*handled})  # each handled once, though sent many times
    assert pending_ids(api) == []  # all confirmed on the way out


async def test_each_update_is_handled_once_though_telegram_repeats_it(
    polled: tuple[Bot, FakeBotAPI],
) -> None:
    bot, api = polled
    for n in range(30):
        api.queue(api.text(100 + n % 3, f"m{n}"))
    seen: list[int] = []

    async def handle(update: Update) -> None:
        await asyncio.sleep(0.01 * (update.update_id % 4))
        seen.append(update.update_id)

    polling = DurablePolling(bot, handle, allowed_updates=ALLOWED, timeout=1)
    stop = asyncio.Event()
    running = asyncio.create_task(polling.run(stop))
    await settle(lambda: len(seen) == 30)
    await asyncio.sleep(0.1)
    stop.set()
    await running
    assert len(seen) == len(set(seen)) == 30
    assert pending_ids(api) == []


async def test_a_stuck_update_stops_holding_the_others_back(polled: tuple[Bot, FakeBotAPI]) -> None:
    bot, api = polled
    stuck = api.queue(api.text(1, "stuck"))["update_id"]
    api.queue(api.text(2, "fine"))
    forever = asyncio.Event()

    async def handle(update: Update) -> None:
        if update.update_id == stuck:
            await forever.wait()

    polling = DurablePolling(bot, handle, allowed_updates=ALLOWED, timeout=1, hold_back=0.2)
    stop = asyncio.Event()
    running = asyncio.create_task(polling.run(stop))
    await settle(lambda: pending_ids(api) == [], timeout=5)
    assert polling.in_flight == 1  # still running; only its redelivery was given up
    forever.set()
    stop.set()
    await running


async def test_a_failing_handler_does_not_stop_polling(polled: tuple[Bot, FakeBotAPI]) -> None:
    bot, api = polled
    api.queue(api.text(1, "boom"))
    api.queue(api.text(1, "after"))
    seen: list[str] = []

    async def handle(update: Update) -> None:
        assert update.message is not None
        seen.append(update.message.text or "")
        if update.message.text == "boom":
            raise RuntimeError("a bug")

    polling = DurablePolling(bot, handle, allowed_updates=ALLOWED, timeout=1)
    stop = asyncio.Event()
    running = asyncio.create_task(polling.run(stop))
    await settle(lambda: len(seen) == 2)
    stop.set()
    await running
    assert pending_ids(api) == []


async def test_a_revoked_token_stops_polling_with_invalid_token(
    polled: tuple[Bot, FakeBotAPI],
) -> None:
    from telegram.error import InvalidToken

    bot, api = polled
    api.fail("getUpdates", code=401, description="Unauthorized")

    async def handle(update: Update) -> None:  # pragma: no cover - nothing arrives
        raise AssertionError("no update expected")

    polling = DurablePolling(bot, handle, allowed_updates=ALLOWED, timeout=1)
    with pytest.raises(InvalidToken):
        await asyncio.wait_for(polling.run(asyncio.Event()), timeout=5)


@pytest.mark.slow
def test_a_polling_process_killed_mid_update_gets_it_again(tmp_path: Path) -> None:
    api = FakeBotAPI()
    data_dir = tmp_path / "node"
    with serve_fake_api(api) as url:
        env = bot_env(data_dir, url)
        with attest_run(env) as process:
            api.queue(api.text(CHAT, "/start"))
            wait_for(lambda: len(bot_messages(api)) >= 1, what="the first question")
            message_id, buttons = newest_buttons(api)
            # Telegram asks the bot to wait before it may answer the button: the update is
            # now in the middle of being handled, its answer not yet saved.
            api.fail("answerCallbackQuery", retry_after=30)
            api.queue(api.press(CHAT, message_id, buttons["English"]))
            wait_for(
                lambda: any(c.method == "answerCallbackQuery" and not c.ok for c in api.calls),
                what="the button update in flight",
            )
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        with attest_run(env):
            # Telegram still held the update, so the restarted bot gets it and answers.
            wait_for(lambda: "privately" in (bot_messages(api)[-1].text or ""), what="safety")
    session = stored_session(data_dir, env)
    assert session.language == "en" and session.state == "safety"
