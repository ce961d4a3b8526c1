"""The dispatcher: what a person is told when storage has something to say."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.node import Node, open_node
from bot.settings import load_settings
from flows.reference import reference_code
from flows.types import Inbound

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await open_node(load_settings({"ATTEST_DATA_DIR": str(tmp_path)}), warn=io.StringIO())
    yield opened
    await opened.close()


def text(value: str) -> Inbound:
    return Inbound(kind="text", text=value)


async def say(node: Node, chat: str, inbound: Inbound, key: str | None = None) -> list[str]:
    reply = await node.dispatcher.handle("test", chat, inbound, update_key=key, now=NOW)
    return [m.text for m in reply.messages]


async def test_a_damaged_draft_is_set_aside_with_an_apology(node: Node, tmp_path: Path) -> None:
    await say(node, "c1", Inbound(kind="start"))
    await say(node, "c1", text("1"))  # language
    with sqlite3.connect(tmp_path / "intake.db") as conn:
        conn.execute("UPDATE sessions SET blob = substr(blob, 1, 10)")
    said = await say(node, "c1", text("1"))
    assert said[0].startswith("We're sorry: your unfinished answers could not be opened")
    assert len(said) > 1  # and the interview starts again at once


async def test_a_repeated_update_is_answered_once(node: Node) -> None:
    first = await say(node, "c2", Inbound(kind="start"), key="u1")
    assert first
    # Not reported sent yet (the process might have died): the same reply again.
    assert await say(node, "c2", Inbound(kind="start"), key="u1") == first
    await node.dispatcher.remember_sent("test", "c2", [1], NOW, update_key="u1")
    assert await say(node, "c2", Inbound(kind="start"), key="u1") == []


async def test_withdrawal_of_an_account_still_here_says_it_is_deleted(node: Node) -> None:
    from tests.console_driver import cooperative

    answer = cooperative("words")
    reply = await node.dispatcher.handle(
        "test", "c3", Inbound(kind="start"), update_key=None, now=NOW
    )
    while reply.end is None:
        ask = next(m for m in reversed(reply.messages) if m.ask)
        event = {
            "step": ask.ask,
            "kind": ask.kind,
            "options": [{"n": c.n, "value": c.value} for c in ask.choices],
        }
        reply = await node.dispatcher.handle(
            "test", "c3", text(answer(event)), update_key=None, now=NOW
        )
    assert reply.end == "submitted" and reply.reference
    await say(node, "c3", Inbound(kind="command", command="withdraw"))
    said = await say(node, "c3", text(reply.reference))
    assert any("is now deleted" in s for s in said)


async def test_too_many_withdrawal_codes_are_refused_kindly(node: Node) -> None:
    outcomes = []
    for attempt in range(7):
        await say(node, "c4", Inbound(kind="command", command="withdraw"))
        said = await say(node, "c4", text(reference_code(bytes([attempt]) * 16)))
        outcomes.append(" ".join(said))
    # Codes this node never sent: each is refused, and counts as an attempt.
    assert "couldn't find" in outcomes[0] and "is recorded" not in outcomes[0]
    assert "please wait an hour" in outcomes[-1]
    assert "is recorded" not in outcomes[-1]


async def test_a_code_sent_twice_after_the_limit_is_not_recorded(node: Node) -> None:
    await say(node, "c5", Inbound(kind="command", command="withdraw"))
    for attempt in range(5):
        await say(node, "c5", text(reference_code(bytes([attempt]) * 16)))
    code = reference_code(b"\x09" * 16)
    said = " ".join(await say(node, "c5", text(code)) + await say(node, "c5", text(code)))
    assert "please wait an hour" in said and "is recorded" not in said
