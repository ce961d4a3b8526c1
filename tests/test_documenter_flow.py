"""The documenter flow through the dispatcher: profile once, /script, sources, erasing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.documenter_access import ERASE_NOTICE, PROFILE_AGAIN, SCRIPT_HEADING
from bot.node import Node
from flows.loader import load_flows
from flows.shared import SHARED_LISTS, shared_list_mismatches
from flows.types import Inbound
from tests.console_driver import cooperative
from tests.documenter_support import interview, open_test_node, texts
from tests.golden.talk import Talk

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await open_test_node(tmp_path)
    yield opened
    await opened.close()


async def bound(node: Node, chat: str = "d") -> None:
    code, _ = await node.store.issue_invite(note="", days=3, now=NOW)
    reply = await node.dispatcher.handle(
        "telegram", chat, Inbound(kind="text", text=f"/documenter {code}"), update_key=None, now=NOW
    )
    assert ERASE_NOTICE in texts(reply)  # said before the first account


async def say(node: Node, text: str, chat: str = "d") -> list[str]:
    reply = await node.dispatcher.handle(
        "telegram", chat, Inbound(kind="text", text=text), update_key=None, now=NOW
    )
    return texts(reply)


async def test_the_profile_is_asked_once_and_again_after_slash_profile(node: Node) -> None:
    await bound(node)
    _, first = await interview(node, "telegram", "d", NOW)
    assert {"doc-role", "doc-affected"} <= set(first)
    _, second = await interview(node, "telegram", "d", NOW)
    assert "doc-role" not in second and "doc-affected" not in second
    assert await say(node, "/profile") == [PROFILE_AGAIN]
    _, third = await interview(node, "telegram", "d", NOW)
    assert "doc-role" in third


async def test_slash_script_shows_the_consent_text_in_the_language_asked(node: Node) -> None:
    await bound(node)
    await node.dispatcher.handle("telegram", "d", Inbound(kind="start"), update_key=None, now=NOW)
    said = await say(node, "/script ar")
    assert said[0] == SCRIPT_HEADING
    assert any(
        "{org_name}" not in t and any("\u0600" <= c <= "\u06ff" for c in t) for t in said[1:3]
    )
    # The question that was waiting is asked again after it.
    reply = await node.dispatcher.handle(
        "telegram", "d", Inbound(kind="text", text="/script"), update_key=None, now=NOW
    )
    assert reply.messages[-1].ask == "language"


async def test_a_sent_account_erases_the_chat_and_keeps_each_fact_source(node: Node) -> None:
    await bound(node)
    reply, _ = await interview(node, "telegram", "d", NOW)
    assert reply.end == "submitted" and reply.erase_chat
    assert reply.reference and reply.reference in reply.messages[-1].text


def test_answers_older_than_48_hours_are_named_as_left_in_the_chat() -> None:
    talk = Talk.of("documenter")
    answer = cooperative("words")
    talk.start()
    while talk.last.end is None:
        message = talk.ask
        ask: dict[str, Any] = {
            "kind": message.kind,
            "options": [{"n": c.n, "value": c.value} for c in message.choices],
        }
        talk.send(answer(ask))
        if message.ask == "recall-source":
            # The interview paused for three days after the free account.
            talk.turns.extend([talk.last] * (3 * 24 * 60))
    said = talk.texts()
    assert "EraseChat" in {type(e).__name__ for e in talk.last.effects}
    assert any("Messages older than 48 hours" in t and "what did they tell you" in t for t in said)
    sources = {a.step: a.source for a in talk.last.account.answers if a.source}
    assert sources == {
        s: "seen"
        for s in ("recall", "harms", "when-started", "place", "perpetrators", "words-said")
    }


def test_both_flows_share_the_option_ids_of_the_shared_lists() -> None:
    flows = load_flows()
    assert shared_list_mismatches(flows) == []
    for step in SHARED_LISTS:
        assert flows["survivor"].step(step).options
    changed = dict(flows)
    from dataclasses import replace

    documenter = flows["documenter"]
    harms = documenter.step("harms")
    fewer = replace(harms, options=harms.options[1:])
    changed["documenter"] = replace(
        documenter, steps=tuple(fewer if s.id == "harms" else s for s in documenter.steps)
    )
    assert shared_list_mismatches(changed) == [
        "harms: documenter and survivor differ in sexual-violence"
    ]
