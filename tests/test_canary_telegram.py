"""Privacy canary through the Telegram channel: real PTB, fake Bot API, SQLite store, DEBUG logs.

A whole interview whose typed answers carry a unique non-ASCII string, from a chat with a
known id, with a Bot API failure part-way (the failing call's error text quotes the
answer, as a proxy might); afterwards no file under the data directory and nothing on
stdout/stderr holds the answer, the chat id or the bot token in any encoding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.logs import configure_logging, register_secret
from storage.crypto import NodeKeys, generate_reviewer_key
from storage.intake.store import open_intake_store
from tests.fakebotapi import TOKEN
from tests.telegram_harness import open_harness
from tests.test_canary import CANARY, encodings, files_under

CHAT = 7713904455
TYPED_KINDS = ("free-text", "approximate-date", "place")
PREFERRED = ("Send my account", "Done", "Go on", "It happened to me", "18 or older", "Yes")


async def test_no_canary_leaves_through_telegram(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    configure_logging("DEBUG")
    register_secret(TOKEN)
    node = NodeKeys.generate()
    store = await open_intake_store(
        None, node, [generate_reviewer_key("x25519").public], data_dir=data_dir
    )
    h = await open_harness(store=store)
    engine = h.dispatcher._engines["survivor"]
    failed = False
    try:
        await h.say("/start", CHAT)
        for _ in range(200):
            state = await h.state(CHAT)
            if state is None:
                break
            step = engine.flow.step(state) if engine.flow.has_step(state) else None
            if step is not None and step.kind in TYPED_KINDS:
                if not failed and state == "impact":
                    failed = True
                    h.api.fail("sendMessage", description=f"Bad Request: {CANARY}", times=8)
                await h.say(f"{CANARY} {state}", CHAT)
                continue
            _, buttons = h.last_keyboard(CHAT)
            labels = [text for text, _ in buttons]
            if step is not None and step.kind == "multiple-choice":
                await h.press(labels[0], CHAT)
                await h.press("Done", CHAT)
                continue
            pick = next((p for p in PREFERRED if any(p in label for label in labels)), labels[0])
            await h.press(pick, CHAT)
        assert await h.state(CHAT) is None
        assert failed
        assert any("reference code" in text for text in h.api.bot_texts(CHAT))
    finally:
        await h.app.shutdown()
        await store.close()
        configure_logging("WARNING")

    captured = capfd.readouterr()
    blobs = files_under(data_dir)
    blobs["stderr"] = captured.err.encode()
    blobs["stdout"] = captured.out.encode()
    assert "a reply could not be sent" in captured.err  # the failure was logged
    for secret in (CANARY, str(CHAT), TOKEN):
        leaks = [n for n, blob in blobs.items() for f in encodings(secret) if f in blob]
        assert leaks == [], f"{secret[:6]}… leaked into {leaks}"
