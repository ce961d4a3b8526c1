"""asyncio's "Task exception was never retrieved" line quotes the exception: withheld too."""

from __future__ import annotations

import asyncio
import gc
import io
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging

CONTENT = "Они пришли ночью"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("WARNING", stream)
    yield stream
    configure_logging("WARNING")


def test_an_unretrieved_task_exception_is_logged_without_its_message(
    log_stream: io.StringIO,
) -> None:
    async def fails() -> None:
        raise ValueError(CONTENT)  # a library's message quoting what a person wrote

    async def main() -> None:
        task = asyncio.create_task(fails())
        await asyncio.sleep(0.01)
        del task
        gc.collect()

    asyncio.run(main())
    output = log_stream.getvalue()
    assert "Task exception was never retrieved" in output
    assert "ValueError" in output
    assert CONTENT not in output
