"""Documenter mode on Telegram: real PTB objects, the offline fake Bot API, a real store.

Invite -> deep link binds the chat -> a whole documenter interview by buttons and text ->
the chat is erased when the account is sent (the reference code stays) -> a second account
asks no profile -> sync -> the queue holds both with the documenter's pseudonym.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.documenter_access import BIND_MESSAGES, ERASE_NOTICE
from storage.crypto import NodeKeys, generate_reviewer_key
from storage.intake.store import open_intake_store
from storage.queue.admin import migrate_queue, open_queue
from storage.queue.tables import accounts
from storage.sync import Outbox, sync_outbox
from tests.telegram_harness import CHAT, Harness, open_harness

NOW = datetime.now(UTC)
TYPED_KINDS = ("free-text", "approximate-date", "place")
PREFERRED = (
    "Send",
    "Done",
    "Yes, go on",
    "Go on",
    "English",
    "18 or older",
    "Yes, they are the one",
    "Yes, they agreed",
    "Yes, they are here",
    "The person told me",
    "Yes, send it",
    "I'm okay",
    "Spoken",
)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[tuple[Harness, Any, NodeKeys]]:
    node = NodeKeys.generate()
    reviewer = generate_reviewer_key("x25519")
    store = await open_intake_store(None, node, [reviewer.public], data_dir=tmp_path, expire=False)
    h = await open_harness(store=store, node=node)
    try:
        yield h, store, node
    finally:
        await h.app.shutdown()
        await store.close()


async def documenter_autopilot(h: Harness, limit: int = 200) -> list[str]:
    """Answer every question of the documenter flow until the account is sent."""
    engine = h.dispatcher._engines["documenter"]
    passed: list[str] = []
    for _ in range(limit):
        state = await h.state()
        if state is None:
            return passed
        passed.append(state)
        step = engine.flow.step(state) if engine.flow.has_step(state) else None
        if step is not None and step.kind in TYPED_KINDS:
            await h.say(f"Recorded answer to {state}.")
            continue
        _, buttons = h.last_keyboard()
        labels = [text for text, _ in buttons]
        if step is not None and step.kind == "multiple-choice":
            await h.press(labels[0])
            await h.press("Done")
            continue
        pick = next((p for p in PREFERRED if any(p in label for label in labels)), labels[0])
        await h.press(pick)
    raise AssertionError(f"the interview did not end: {passed[-5:]}")


async def test_a_documenter_records_two_accounts_on_telegram(
    harness: tuple[Harness, Any, NodeKeys], tmp_path: Path
) -> None:
    h, store, node = harness
    code, pseudonym = await store.issue_invite(note="Team north", days=3, now=NOW)
    said = await h.say("/start doc-" + code.replace("-", ""))
    assert said == [BIND_MESSAGES["bound"], ERASE_NOTICE]

    await h.say("/start")
    first = await documenter_autopilot(h)
    assert "doc-role" in first and "recall-source" in first
    visible = [m.text or "" for m in h.api.visible(CHAT)]
    # Erased, both sides: what stays is the closing with the person's reference code.
    assert not any("What is your role?" in t for t in visible)
    assert not any(t.startswith("Recorded answer to") for t in visible)
    assert any("reference code is" in t for t in visible)
    assert h.api.called("deleteMessages") or h.api.called("deleteMessage")

    await h.say("/start")
    second = await documenter_autopilot(h)
    assert "doc-role" not in second  # asked once per documenter
    # Nothing is older than 48 hours: no "may remain" guess after the second erase either.
    assert not any("older than 48 hours" in (m.text or "") for m in h.api.visible(CHAT))

    queue = open_queue(str(tmp_path / "queue.db"))
    migrate_queue(queue)
    report = sync_outbox(
        Outbox(store.engine, tmp_path / "files"), queue, {node.fingerprint: node.public_key_bytes}
    )
    assert report.accounts == 2
    with queue.connect() as conn:
        rows = conn.execute(select(accounts.c.mode, accounts.c.documenter)).all()
    assert [tuple(r) for r in rows] == [("documenter", pseudonym)] * 2
    (listed,) = await store.list_documenters()
    assert listed.accounts == 2


async def test_a_used_code_and_a_forged_deep_link_are_refused(
    harness: tuple[Harness, Any, NodeKeys],
) -> None:
    h, store, _ = harness
    code, _ = await store.issue_invite(note="", days=3, now=NOW)
    assert (await h.say(f"/documenter {code}"))[0] == BIND_MESSAGES["bound"]
    assert await h.say(f"/documenter {code}", chat=CHAT + 1) == [BIND_MESSAGES["used"]]
    assert await h.say("/start doc-AAAAAAAAAAAAAAAA", chat=CHAT + 2) == [BIND_MESSAGES["wrong"]]
    huge = "/documenter " + "A" * 5000
    assert await h.say(huge, chat=CHAT + 3) != [BIND_MESSAGES["bound"]]
