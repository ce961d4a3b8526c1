"""`attest run` pointed at a Bot API server of our choosing (ATTEST_TELEGRAM_API_URL).

The fake Bot API HTTP server stands in for the public gateway (20 MB download limit,
files over HTTP) and for a self-hosted server in local mode (files handed out as paths on
this machine). The bot runs as a real process in both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.telegram.media import UrlStream
from tests.fake_bot_server import serve_fake_api
from tests.fakebotapi import TOKEN, FakeBotAPI
from tests.test_telegram_e2e import CHAT, attest_run, bot_env, bot_messages, stored_session

pytestmark = pytest.mark.slow

MB = 1024 * 1024
PREFERRED = ("Send my account", "Go on", "It happened to me", "18 or older", "Yes, I agree")


class Person:
    """Answers whatever the bot asks through the fake Telegram, as a person would."""

    def __init__(self, api: FakeBotAPI, chat: int = CHAT) -> None:
        self.api = api
        self.chat = chat
        self.visits: dict[int, int] = {}

    def wait_reply(self, seen: int, timeout: float = 20) -> None:
        """Until the bot has answered since `seen` calls and then gone quiet (a turn may
        send several messages)."""
        deadline = time.monotonic() + timeout
        while not any(
            c.method in ("sendMessage", "editMessageText") for c in self.api.calls[seen:]
        ):
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not answer")
            time.sleep(0.02)
        count = -1
        while count != len(self.api.calls):
            count = len(self.api.calls)
            time.sleep(0.15)

    def step(self) -> None:
        """Answer the newest message: a button where it has buttons, else some text."""
        newest = bot_messages(self.api, self.chat)[-1]
        seen = len(self.api.calls)
        if not newest.reply_markup:
            self.api.queue(self.api.text(self.chat, "Something I want to say."))
            self.wait_reply(seen)
            return
        buttons = self.api.button_data(self.chat, newest.message_id)
        labels = [label for label, _ in buttons]
        visits = self.visits.get(newest.message_id, 0)
        self.visits[newest.message_id] = visits + 1
        if any(label.startswith("✓") for label in labels) or labels == ["Add more", "Done"]:
            pick = "Done"
        elif "Done" in labels and visits == 0:
            pick = labels[0]  # multiple choice: choose one, then Done
        else:
            pick = next((p for p in PREFERRED if p in labels), labels[0])
        data = dict(buttons)[pick]
        self.api.queue(self.api.press(self.chat, newest.message_id, data))
        self.wait_reply(seen)

    def until(self, done: Callable[[], bool], limit: int = 200) -> None:
        for _ in range(limit):
            if done():
                return
            self.step()
        raise AssertionError("the conversation did not get there")


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def newest_text(api: FakeBotAPI) -> str:
    return bot_messages(api)[-1].text or ""


def test_a_whole_interview_by_polling_through_the_api_url(tmp_path: Path) -> None:
    api = FakeBotAPI()
    data_dir = tmp_path / "node"
    with serve_fake_api(api) as url:
        env = bot_env(data_dir, url)
        with attest_run(env):
            seen = len(api.calls)
            api.queue(api.text(CHAT, "/start"))
            person = Person(api)
            person.wait_reply(seen)
            person.until(lambda: "Your reference code is" in newest_text(api))
    assert all(m.protect_content for m in bot_messages(api))
    assert stored_session(data_dir, env) is None  # sent: no draft left behind


def _voice_note_at_recall(api: FakeBotAPI, env: dict[str, str], size: int) -> tuple[str, float]:
    """Reach the free-recall question, send a voice note of `size` bytes; the bot's answer
    and how much the bot process's peak memory grew meanwhile (MB)."""
    with attest_run(env) as process:
        seen = len(api.calls)
        api.queue(api.text(CHAT, "/start"))
        person = Person(api)
        person.wait_reply(seen)
        person.until(lambda: "In your own words" in newest_text(api))
        before = peak_rss_mb(process.pid)
        seen = len(api.calls)
        api.queue(api.voice(CHAT, b"\x4f" * size, duration=600))
        person.wait_reply(seen, timeout=60)
        grown = peak_rss_mb(process.pid) - before
    return newest_text(api), grown


def test_a_25_mb_voice_note_in_local_mode_is_streamed_and_its_plaintext_removed(
    tmp_path: Path,
) -> None:
    server_files = tmp_path / "bot-api-server"
    server_files.mkdir()
    api = FakeBotAPI(local_dir=server_files, file_limit=2000 * MB)
    data_dir = tmp_path / "node"
    with serve_fake_api(api) as url:
        env = bot_env(
            data_dir,
            url,
            ATTEST_TELEGRAM_MAX_FILE_MB="100",
            ATTEST_TELEGRAM_LOCAL_DIR=str(server_files),
        )
        answer, grown = _voice_note_at_recall(api, env, 25 * MB)
    assert "add more" in answer.lower()  # taken as part of the account
    assert grown < 10, f"peak memory grew by {grown:.1f} MB for a 25 MB file"
    assert list(server_files.rglob("*.oga")) == []  # the plaintext copy is gone
    session = stored_session(data_dir, env)
    assert session.answers["recall"].files


def test_a_25_mb_voice_note_is_refused_kindly_under_the_public_limit(tmp_path: Path) -> None:
    api = FakeBotAPI()  # the public gateway: 20 MB
    data_dir = tmp_path / "node"
    with serve_fake_api(api) as url:
        env = bot_env(data_dir, url)
        answer, _ = _voice_note_at_recall(api, env, 25 * MB)
    assert "too large" in answer  # the gateway would not hand it out
    assert "recall" not in stored_session(data_dir, env).answers


def test_files_served_over_http_are_streamed_in_chunks(tmp_path: Path) -> None:
    api = FakeBotAPI()
    data = bytes(range(256)) * (3 * 4096)  # 3 MB
    file_id = api.add_file(data)
    with serve_fake_api(api) as url:
        stream = UrlStream(f"{url}/file/bot{TOKEN}/voice/{file_id}.oga")
        first = stream.read(1000)
        rest = stream.read()
        stream.close()
        assert first + rest == data
        missing = UrlStream(f"{url}/file/bot{TOKEN}/voice/nothing.oga")
        with pytest.raises(Exception, match="404"):
            missing.read(10)
        missing.close()
