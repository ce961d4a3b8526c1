"""At DEBUG, no log line says which questions a person was asked: the path is content too.

Which steps a conversation passes through tells what the person answered (a step asked
only after "yes, in the last 5 days", or only to someone under 18).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.logs import configure_logging
from bot.node import open_node
from bot.settings import load_settings
from flows.types import Inbound

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    yield stream
    configure_logging("WARNING")


async def test_the_steps_a_person_passes_through_are_not_logged(
    tmp_path: Path, log_stream: io.StringIO
) -> None:
    node = await open_node(load_settings({"ATTEST_DATA_DIR": str(tmp_path)}), warn=io.StringIO())
    asked: list[str] = []
    try:
        inbounds = [Inbound(kind="start")] + [
            Inbound(kind="text", text=n) for n in ["1", "1", "1", "1", "1"]
        ]
        for inbound in inbounds:
            reply = await node.dispatcher.handle("test", "c1", inbound, update_key=None, now=NOW)
            asked += [m.ask for m in reply.messages if m.ask]
    finally:
        await node.close()
    assert "urgent-go-on" in asked  # asked only after "yes, it happened in the last 5 days"
    output = log_stream.getvalue()
    for step in asked:
        assert re.search(rf"(?<![\w-]){re.escape(step)}(?![\w-])", output) is None, step
