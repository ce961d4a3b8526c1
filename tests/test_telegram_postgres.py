"""Two webhook processes sharing PostgreSQL, one person's updates delivered to both at once."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from storage.crypto import NodeKeys
from storage.intake.keyring import load_reviewer_keys
from storage.intake.store import open_intake_store
from tests.fake_bot_server import deliver_webhook, free_port, serve_fake_api
from tests.fakebotapi import FakeBotAPI
from tests.intake_support import PG_URL, pg_schema
from tests.test_telegram_e2e import (
    CHAT,
    SECRET,
    bot_env,
    bot_messages,
    newest_buttons,
    webhook_process,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set"),
]

# (button label, or None to type text) for each update, in order.
SCRIPT: list[tuple[str | None, str]] = [
    (None, "/start"),
    ("English", ""),
    ("Yes", ""),
    ("It happened to me", ""),
    ("Yes, 18 or older", ""),  # issue 14: "Are you 18 or older?"
    ("No", ""),  # urgency
    ("Yes", ""),  # told before
    (None, "An organisation in town."),  # told which
    ("Yes, go on", ""),  # consent: a pause in the long text
    ("Yes, I agree", ""),  # consent: archive
]


def stored(data_dir: Path, env: dict[str, str], url: str) -> Any:
    async def read() -> Any:
        keys = NodeKeys.load_or_create(data_dir / "node.key")
        reviewers = load_reviewer_keys(data_dir, env)
        store = await open_intake_store(url, keys, reviewers, data_dir=data_dir)
        try:
            return await store.load_session(keys.pseudonym("telegram", CHAT))
        finally:
            await store.close()

    return asyncio.run(read())


def test_every_answer_is_stored_exactly_once_in_order(tmp_path: Path) -> None:
    api = FakeBotAPI()
    data_dir = tmp_path / "node"
    ports = [free_port(), free_port()]
    hooks = [f"http://127.0.0.1:{p}/telegram" for p in ports]
    with pg_schema() as database, serve_fake_api(api) as url:
        env = bot_env(data_dir, url, ATTEST_WEBHOOK_SECRET=SECRET, ATTEST_DATABASE_URL=database)
        with webhook_process(env, ports[0]), webhook_process(env, ports[1]):
            pool = ThreadPoolExecutor(max_workers=2)
            for label, text in SCRIPT:
                if label is None:
                    update = api.text(CHAT, text)
                else:
                    message_id, buttons = newest_buttons(api)
                    assert label in buttons, (label, list(buttons))
                    update = api.press(CHAT, message_id, buttons[label])
                before = len(bot_messages(api))
                barrier = threading.Barrier(2)

                def send(
                    hook: str,
                    update: dict[str, Any] = update,
                    barrier: threading.Barrier = barrier,
                ) -> int:
                    barrier.wait()  # both processes get the update at the same moment
                    return deliver_webhook(hook, SECRET, update)

                assert list(pool.map(send, hooks)) == [200, 200]
                new = bot_messages(api)[before:]
                assert new, f"no reply after {label or text!r}"
                # Answered once: a doubled turn would ask the next question twice.
                assert len([m for m in new if m.reply_markup]) <= 1, [m.text for m in new]
            pool.shutdown()
        session = stored(data_dir, env, database)
    answers = session.answers
    assert [answers[s].value for s in ("language", "safety", "route")] == ["en", "yes", "self"]
    assert answers["told-which"].value == "An organisation in town."
    assert answers["consent-archive"].value == "yes"
    # In order, each step once: the history lists the asked steps without repeats.
    asked = [s for s in session.history if s in answers]
    assert len(asked) == len(set(asked))
    assert asked.index("safety") < asked.index("route") < asked.index("told-which")


async def test_the_respondent_lock_excludes_another_process_connection() -> None:
    from sqlalchemy import create_engine

    from storage.intake.respondent_lock import RespondentLocks

    with pg_schema() as url:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        first, second = (RespondentLocks(create_engine(url)) for _ in range(2))
        order: list[str] = []

        async def hold(locks: RespondentLocks, name: str, seconds: float) -> None:
            async with locks.hold("person-1"):
                order.append(f"{name} in")
                await asyncio.sleep(seconds)
                order.append(f"{name} out")

        async def later() -> None:
            await asyncio.sleep(0.05)
            await hold(second, "second", 0)

        await asyncio.gather(hold(first, "first", 0.3), later())
        assert order == ["first in", "first out", "second in", "second out"]
        async with first.hold("person-2"), second.hold("person-3"):
            pass  # different people never wait for each other
        first.close()
        second.close()
