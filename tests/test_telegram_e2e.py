"""`attest run` as a real process against a fake Telegram on 127.0.0.1: polling and webhook."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.crypto import NodeKeys, generate_reviewer_key
from storage.intake.keyring import load_reviewer_keys
from storage.intake.store import open_intake_store
from tests.fake_bot_server import deliver_webhook, free_port, serve_fake_api
from tests.fakebotapi import TOKEN, FakeBotAPI

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SECRET = "e2e-webhook-secret-0123456789"
CHAT = 5151


def wait_for(condition: Callable[[], bool], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def bot_env(data_dir: Path, api_url: str, **extra: str) -> dict[str, str]:
    reviewer = data_dir.parent / "reviewer.pub"
    if not reviewer.exists():
        generate_reviewer_key("x25519").public.save(reviewer)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATTEST_")}
    env.update(
        ATTEST_DATA_DIR=str(data_dir),
        ATTEST_TELEGRAM_TOKEN=TOKEN,
        ATTEST_TELEGRAM_API_URL=api_url,
        ATTEST_REVIEWER_KEYS=str(reviewer),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


@contextmanager
def attest_run(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def bot_messages(api: FakeBotAPI, chat: int = CHAT) -> list[Any]:
    return [m for m in api.visible(chat) if m.from_bot]


def newest_buttons(api: FakeBotAPI, chat: int = CHAT) -> tuple[int, dict[str, str]]:
    for m in reversed(bot_messages(api, chat)):
        if m.reply_markup:
            return m.message_id, dict(api.button_data(chat, m.message_id))
    raise AssertionError("no buttons")


def stored_session(data_dir: Path, env: dict[str, str], chat: int = CHAT) -> Any:
    """The person's draft as the node stored it (opened after the bot process ended)."""

    async def read() -> Any:
        keys = NodeKeys.load_or_create(data_dir / "node.key")
        reviewers = load_reviewer_keys(data_dir, env)
        store = await open_intake_store(None, keys, reviewers, data_dir=data_dir)
        try:
            return await store.load_session(keys.pseudonym("telegram", chat))
        finally:
            await store.close()

    return asyncio.run(read())


def test_a_conversation_by_polling(tmp_path: Path) -> None:
    api = FakeBotAPI()
    data_dir = tmp_path / "node"
    with serve_fake_api(api) as url:
        env = bot_env(data_dir, url)
        with attest_run(env) as process:
            wait_for(lambda: api.polls_started > 0, what="polling")
            time.sleep(0.5)
            assert not api.called("sendMessage")  # the bot never writes first
            api.queue(api.text(CHAT, "/start"))
            wait_for(lambda: len(bot_messages(api)) >= 1, what="the first question")
            assert bot_messages(api)[0].text == "Which language would you like to use?"
            message_id, buttons = newest_buttons(api)
            api.queue(api.press(CHAT, message_id, buttons["English"]))
            wait_for(lambda: "privately" in (bot_messages(api)[-1].text or ""), what="safety")
            message_id, buttons = newest_buttons(api)
            api.queue(api.press(CHAT, message_id, buttons["Yes"]))
            wait_for(lambda: "happened to you" in (bot_messages(api)[-1].text or ""), what="route")
            assert all(m.protect_content for m in bot_messages(api))
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
    session = stored_session(data_dir, env)
    assert session.answers["safety"].value == "yes" and session.state == "route"


@contextmanager
def webhook_process(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    url = f"http://127.0.0.1:{port}/telegram"
    with attest_run(env, "--webhook", url, "--port", str(port)) as process:

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "")
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, what="the webhook process")
        yield process


def test_a_conversation_through_the_webhook_survives_sigkill(tmp_path: Path) -> None:
    api = FakeBotAPI()
    data_dir = tmp_path / "node"
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram"
    with serve_fake_api(api) as url:
        env = bot_env(data_dir, url, ATTEST_WEBHOOK_SECRET=SECRET)
        registered = subprocess.run(
            [sys.executable, "-m", "bot.cli", "run", "--set-webhook", hook],
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=60,
        )
        assert registered.returncode == 0, registered.stderr.decode()
        assert api.webhook_url == hook and api.webhook_secret == SECRET
        with webhook_process(env, port) as process:
            assert deliver_webhook(hook, "wrong-secret", api.text(CHAT, "/start")) == 403
            assert deliver_webhook(hook, SECRET, api.text(CHAT, "/start")) == 200
            # Answered only after the turn is saved and the reply sent.
            assert bot_messages(api)[-1].text == "Which language would you like to use?"
            message_id, buttons = newest_buttons(api)
            english = api.press(CHAT, message_id, buttons["English"])
            assert deliver_webhook(hook, SECRET, english) == 200
            replies = len(bot_messages(api))
            assert deliver_webhook(hook, SECRET, english) == 200  # Telegram delivers it again
            assert len(bot_messages(api)) == replies  # one answer, one reply
            message_id, buttons = newest_buttons(api)
            assert deliver_webhook(hook, SECRET, api.press(CHAT, message_id, buttons["Yes"])) == 200
            process.send_signal(signal.SIGKILL)  # right after it answered 200
            process.wait(timeout=10)
        with webhook_process(env, port):
            message_id, buttons = newest_buttons(api)
            assert "It happened to me" in buttons  # the conversation went on where it was
            status = deliver_webhook(
                hook, SECRET, api.press(CHAT, message_id, buttons["It happened to me"])
            )
            assert status == 200
    session = stored_session(data_dir, env)
    assert session.answers["safety"].value == "yes"
    assert session.answers["route"].value == "self"
