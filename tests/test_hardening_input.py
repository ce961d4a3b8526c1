"""Text that is not valid Unicode (a terminal in another encoding, a forged update) is kept, not refused."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.console import run_console
from bot.node import Node, open_node
from bot.settings import load_settings
from flows.types import Inbound

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# What Python reads under a UTF-8 locale from a terminal sending cp1256 (Arabic): each
# undecodable byte becomes a lone surrogate.
MISDECODED = "\udcc7\udce1\udce5 school closed"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await open_node(load_settings({"ATTEST_DATA_DIR": str(tmp_path)}), warn=io.StringIO())
    yield opened
    await opened.close()


async def test_undecodable_bytes_in_a_console_answer_do_not_fail_the_turn(node: Node) -> None:
    # language, safety, route, age, urgency (no), told before (yes), then the free text.
    lines = ["1", "1", "1", "1", "2", "1", MISDECODED]
    stdout = io.StringIO()
    reason = await run_console(
        node.dispatcher,
        respondent_name="someone",
        flow=None,
        stdin=io.StringIO("\n".join(lines) + "\n"),
        stdout=stdout,
        jsonl=True,
        clock=lambda: NOW,
    )
    assert reason == "input-ended"
    events = [json.loads(line) for line in stdout.getvalue().splitlines()]
    asked = [e["step"] for e in events if e["type"] == "ask"]
    assert asked[-2:] == ["told-which", "consent-pace"]  # accepted, the interview goes on
    assert not any("went wrong" in e.get("text", "") for e in events)
    session = await node.store.load_session(node.dispatcher.respondent("console", "someone"))
    assert session is not None
    assert session.answers["told-which"].value == "\ufffd\ufffd\ufffd school closed"


async def test_a_lone_surrogate_in_a_forged_update_is_kept_as_a_replacement(node: Node) -> None:
    async def say(inbound: Inbound) -> None:
        reply = await node.dispatcher.handle("telegram", 42, inbound, update_key=None, now=NOW)
        assert reply.applied and reply.messages

    await say(Inbound(kind="start"))
    for number in ["1", "1", "1", "1", "2", "1"]:
        await say(Inbound(kind="text", text=number))
    await say(Inbound(kind="text", text="they came at night \ud800"))
    session = await node.store.load_session(node.dispatcher.respondent("telegram", 42))
    assert session is not None
    assert session.answers["told-which"].value == "they came at night \ufffd"


class FailsOnce:
    """The real dispatcher, except that the n-th turn fails before anything is saved."""

    def __init__(self, real: object, fail_at: int) -> None:
        self.real = real
        self.calls = 0
        self.fail_at = fail_at

    async def handle(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("the store went away for a moment")
        return await self.real.handle(*args, **kwargs)  # type: ignore[attr-defined]


async def test_after_a_failed_turn_the_question_is_asked_again_in_the_persons_language(
    node: Node,
) -> None:
    dispatcher = FailsOnce(node.dispatcher, fail_at=3)  # start, language, then safety fails
    stdout = io.StringIO()
    await run_console(
        dispatcher,  # type: ignore[arg-type]
        respondent_name="someone",
        flow=None,
        stdin=io.StringIO("6\n1\n1\n"),  # Français; the safety answer, failed, then again
        stdout=stdout,
        jsonl=True,
        clock=lambda: NOW,
    )
    events = [json.loads(line) for line in stdout.getvalue().splitlines()]
    asked = [e["step"] for e in events if e["type"] == "ask"]
    assert asked[:4] == ["language", "safety", "safety", "route"]  # asked again after the failure
    second_safety = [i for i, e in enumerate(events) if e.get("step") == "safety"][1]
    apology = events[second_safety - 1]
    assert apology["type"] == "message"
    assert apology["text"].startswith("Toutes nos excuses")  # in French, the chosen language


async def test_a_number_too_long_to_be_an_option_is_a_reprompt_not_a_crash(node: Node) -> None:
    await node.dispatcher.handle("telegram", 7, Inbound(kind="start"), update_key=None, now=NOW)
    reply = await node.dispatcher.handle(
        "telegram", 7, Inbound(kind="text", text="9" * 5000), update_key=None, now=NOW
    )
    assert reply.applied
    assert [m.ask for m in reply.messages if m.ask] == ["language"]  # asked again
