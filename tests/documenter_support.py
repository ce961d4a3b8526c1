"""Helpers for documenter-mode tests: a node, invites, and a whole interview by dispatcher."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.dispatcher import Reply
from bot.node import Node, open_node
from bot.settings import load_settings
from flows.types import Inbound
from tests.console_driver import cooperative


async def open_test_node(data_dir: Path) -> Node:
    return await open_node(load_settings({"ATTEST_DATA_DIR": str(data_dir)}), warn=io.StringIO())


def texts(reply: Reply) -> list[str]:
    return [m.text for m in reply.messages]


def ask_of(reply: Reply) -> dict[str, Any] | None:
    """The last question of a reply, shaped like the console's --jsonl `ask` event."""
    for message in reversed(reply.messages):
        if message.ask is not None:
            return {
                "step": message.ask,
                "kind": message.kind,
                "text": message.text,
                "options": [
                    {"n": c.n, "value": c.value, "label": c.label} for c in message.choices
                ],
            }
    return None


async def interview(
    node: Node,
    channel: str,
    chat: str,
    now: datetime,
    answer: Callable[[dict[str, Any]], str] | None = None,
    *,
    first: Inbound | None = None,
    limit: int = 200,
) -> tuple[Reply, list[str]]:
    """Run a conversation to its end; returns the last reply and the steps asked."""
    answer = answer or cooperative("words")
    reply = await node.dispatcher.handle(
        channel, chat, first or Inbound(kind="start"), update_key=None, now=now
    )
    asked: list[str] = []
    for _ in range(limit):
        if reply.end is not None:
            return reply, asked
        ask = ask_of(reply)
        assert ask is not None, texts(reply)
        asked.append(ask["step"])
        reply = await node.dispatcher.handle(
            channel, chat, Inbound(kind="text", text=answer(ask)), update_key=None, now=now
        )
    raise AssertionError(f"no end after {limit} turns: {asked[-5:]}")


def outbox_metadata(data_dir: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(data_dir / "intake.db") as conn:
        rows = conn.execute("SELECT metadata_json FROM outbox ORDER BY created_at").fetchall()
    return [json.loads(r[0]) for r in rows]
