"""Quick exit at a terminal: the conversation disappears from the screen and its scrollback."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.console import run_console
from bot.node import Node, open_node
from bot.settings import load_settings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STORY = "They took my brother at the checkpoint."
CLEAR_SCREEN = "\x1b[H\x1b[2J\x1b[3J"  # home, clear the screen, clear the scrollback


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as a person's console is."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await open_node(load_settings({"ATTEST_DATA_DIR": str(tmp_path)}), warn=io.StringIO())
    yield opened
    await opened.close()


async def test_quick_exit_at_a_terminal_clears_what_was_written(node: Node) -> None:
    screen = Terminal()
    # language, safety, route, age, urgency (no), told before (yes), the story, then /exit
    typed = ["1", "1", "1", "1", "2", "1", STORY, "/exit"]
    reason = await run_console(
        node.dispatcher,
        respondent_name="someone",
        flow=None,
        stdin=Terminal("\n".join(typed) + "\n"),
        stdout=screen,
        clock=lambda: NOW,
    )
    assert reason == "exited"
    shown = screen.getvalue()
    assert CLEAR_SCREEN in shown
    after = shown.rsplit(CLEAR_SCREEN, 1)[1]
    assert "safety" not in after.lower() and "privately" not in after
    assert after.strip()  # the neutral closing line is still shown


async def test_piped_output_gets_no_terminal_codes(node: Node) -> None:
    out = io.StringIO()
    await run_console(
        node.dispatcher,
        respondent_name="someone-else",
        flow=None,
        stdin=io.StringIO("1\n/exit\n"),
        stdout=out,
        clock=lambda: NOW,
    )
    assert "\x1b" not in out.getvalue()
