"""Where the queue is: `ATTEST_QUEUE_URL`, or `queue.db` in the data directory.

A SQLite file named by a plain path (the default, and a field kit's USB stick) or by
`sqlite:///PATH` is found and named here with the standard library, exactly as
`storage.db.database_url` and SQLAlchemy's URL rendering would (a test compares them), so
that `review list` on such a queue never imports SQLAlchemy (issue 16: start-up). Every
other URL is SQLAlchemy's to read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, unquote

# The SQLite URLs read here; others (another driver, options after `?`) go to SQLAlchemy.
_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")


def queue_url_from_env(env: Mapping[str, str] | None = None) -> str:
    """ATTEST_QUEUE_URL, else the SQLite file `queue.db` in ATTEST_DATA_DIR."""
    env = os.environ if env is None else env
    configured = env.get("ATTEST_QUEUE_URL")
    if configured:
        return configured
    data_dir = Path(env.get("ATTEST_DATA_DIR", "attest-data")).expanduser()
    return str(data_dir / "queue.db")


def _sqlite_database(url: str) -> tuple[str, str] | None:
    """(driver, database) as SQLAlchemy would parse them, for a SQLite file; else None."""
    if "://" not in url:
        return "sqlite+pysqlite", str(Path(url).expanduser().resolve())
    scheme, rest = url.split("://", 1)
    if scheme not in _SQLITE_SCHEMES or not rest.startswith("/") or "?" in rest:
        return None
    database = unquote(rest[1:])
    if not database or database == ":memory:":
        return None
    return scheme, database


def local_sqlite_file(url: str) -> Path | None:
    """The SQLite file a queue setting names, or None when SQLAlchemy must read the URL."""
    found = _sqlite_database(url)
    return None if found is None else Path(found[1])


def display_url(url: str) -> str:
    """The URL with any password hidden, for messages and the audit witness's `places`."""
    found = _sqlite_database(url)
    if found is not None:
        driver, database = found
        return f"{driver}:///{quote(database, safe=' +/')}"
    from storage.db import database_url

    return database_url(url).render_as_string(hide_password=True)
