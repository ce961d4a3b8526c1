"""`attest run --webhook`: uvicorn logs through our redacting handler, with no access log."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.cli_run import webhook_server_config
from bot.logs import configure_logging

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    saved = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
        for name in UVICORN_LOGGERS
    }
    # Other tests may have run uvicorn with its own log config: start from a clean slate.
    for name in UVICORN_LOGGERS:
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    yield stream
    configure_logging("WARNING")
    for name, (handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers = handlers
        logger.propagate = propagate


async def _web(scope: object, receive: object, send: object) -> None:  # pragma: no cover
    pass


def test_the_webhook_server_keeps_our_logging(log_stream: io.StringIO) -> None:
    root_handlers = logging.getLogger().handlers[:]
    config = webhook_server_config(_web, "127.0.0.1", 8080)
    assert config.log_config is None
    assert config.access_log is False
    assert logging.getLogger().handlers == root_handlers
    for name in UVICORN_LOGGERS:
        assert logging.getLogger(name).handlers == [], name

    # A request line would name the path and the client: nothing of it reaches the log.
    logging.getLogger("uvicorn.access").warning(
        '%s - "%s %s HTTP/1.1" %d', "203.0.113.7:51234", "POST", "/hook/s3cret-path", 200
    )
    # uvicorn's own INFO lines (listen address) are held back even at DEBUG.
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://127.0.0.1:8080")
    # Its warnings still arrive, through our redacting formatter.
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request from chat 987654321")
    output = log_stream.getvalue()
    assert "s3cret-path" not in output and "203.0.113.7" not in output
    assert "Uvicorn running" not in output
    assert "Invalid HTTP request from chat [redacted]" in output
    assert "987654321" not in output


def test_uvicorn_info_lines_are_held_back_at_debug(log_stream: io.StringIO) -> None:
    for name in UVICORN_LOGGERS:
        logging.getLogger(name).info("Uvicorn running on http://127.0.0.1:8080 (%s)", name)
    assert log_stream.getvalue() == ""
