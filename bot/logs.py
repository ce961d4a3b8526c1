"""Logging with a redaction step: nothing a person wrote, no chat id, token or key gets out.

The code never logs content on purpose; this module is the safety net behind that rule.

- Every record passes `redact()`: secrets registered at run time (the bot token,
  passphrases) are replaced, as are anything shaped like a bot token, long digit runs
  (chat and user ids) and long base64/hex runs (keys).
- Exceptions are logged by type and code location only. Their message is withheld,
  because a library's message can quote the data it choked on.
- Third-party loggers that print request URLs or payloads (httpx, httpcore, telegram,
  uvicorn), or the interview steps a person passes through (transitions), are held
  at WARNING even when ATTEST_LOG_LEVEL is DEBUG.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any

REDACTED = "[redacted]"
_secrets: set[str] = set()

_PATTERNS = (
    re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}"),  # bot tokens
    re.compile(r"(?<![\w.])-?\d{6,}(?![\w.])"),  # chat / user ids
    re.compile(r"[A-Za-z0-9+/=_-]{32,}"),  # keys, base64 or hex blobs
)
_CHATTY_LOGGERS = (
    "httpx",
    "httpcore",
    "telegram",
    "telegram.ext",
    "uvicorn",
    "uvicorn.error",  # "Uvicorn running on http://host:port" and the like
    "uvicorn.access",  # a line per request: path and client address
    "uvicorn.asgi",
    "hpack",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "transitions",  # names every state a turn passes through: the path tells the answers
)


def register_secret(value: str | None) -> None:
    """Remember a secret known at run time so that no log line can carry it."""
    if value and len(value) >= 4:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def describe_exception(exc: BaseException) -> str:
    """Type and code locations of an exception, never its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames[-4:])
    return f"{type(exc).__module__}.{type(exc).__qualname__} (message withheld) at {where}"


class RedactingFormatter(logging.Formatter):
    """Formats a record, withholds exception messages, then redacts the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info = record.exc_info
        record.exc_info = None
        record.exc_text = None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        if exc_info and exc_info[1] is not None:
            error = exc_info[1]
            # asyncio's "Task exception was never retrieved" puts the task's repr in the
            # message, and that repr quotes the exception: withhold it there too.
            try:
                quoted = repr(error)
            except Exception:
                quoted = ""
            if quoted:
                line = line.replace(quoted, f"{type(error).__name__}(message withheld)")
            line = f"{line} | {describe_exception(error)}"
        return redact(line)

    def formatException(self, ei: Any) -> str:
        return describe_exception(ei[1]) if ei and ei[1] is not None else ""


def configure_logging(level: str = "WARNING", stream: Any = None) -> None:
    """Route every logger through one redacting handler on stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logging.captureWarnings(True)
