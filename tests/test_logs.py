"""The redaction step: no token, chat id, key or exception message reaches a log line."""

from __future__ import annotations

import base64
import io
import logging

import pytest

from bot.logs import REDACTED, configure_logging, redact, register_secret

TOKEN = "123456789:AAE-Zx_abcdefghijklmnopqrstuvwxyz012"


@pytest.fixture
def log_stream() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("DEBUG", stream)
    yield stream
    configure_logging("WARNING")


def test_tokens_ids_and_keys_are_redacted() -> None:
    key = base64.b64encode(bytes(range(32))).decode()
    line = redact(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage chat 987654321 {key}")
    assert TOKEN not in line
    assert "987654321" not in line
    assert key not in line
    assert line.count(REDACTED) == 3


def test_registered_secrets_are_redacted_even_when_short() -> None:
    register_secret("hunter22")
    assert redact("passphrase is hunter22") == f"passphrase is {REDACTED}"


def test_small_numbers_and_words_are_kept() -> None:
    assert redact("turn took 12 ms at step harms") == "turn took 12 ms at step harms"


def test_exception_messages_are_withheld(log_stream: io.StringIO) -> None:
    try:
        raise ValueError("Они пришли ночью")  # content a library might quote back
    except ValueError:
        logging.getLogger("attest.test").exception("turn failed")
    output = log_stream.getvalue()
    assert "turn failed" in output
    assert "ValueError (message withheld)" in output
    assert "Они пришли" not in output


def test_http_libraries_stay_quiet_at_debug(log_stream: io.StringIO) -> None:
    logging.getLogger("httpx").debug("HTTP Request: POST https://api.telegram.org/bot%s", TOKEN)
    logging.getLogger("telegram.ext").info("update %s", 5550001)
    assert log_stream.getvalue() == ""
