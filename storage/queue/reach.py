"""Why the queue cannot be used, named from the driver's own error.

    QueueAccessError (StorageError)     the message says which it is and what to do
      missing database, authentication, permission, refused connection, unknown host,
      not set up, not a queue file, no queue at this path, unsupported URL scheme

`explain(error)` turns a SQLAlchemy/driver error, or a raw `sqlite3` error from the
read-only listing (`storage.queue.readonly`), into one of these, or returns None for an
error it does not recognise. PostgreSQL errors raised by a statement carry a SQLSTATE
(`42501` insufficient privilege, `42P01` undefined table, …); a failed *connection* has
none in psycopg, so the one line libpq wrote about it (`FATAL: database "x" does not
exist`, `Connection refused`) decides. SQLite's own error names (`SQLITE_NOTADB`,
`SQLITE_CANTOPEN`, …) decide for a file. The raw driver text is never shown: it can hold
a statement, and statements can hold ids.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from storage.errors import N_, StorageError

SUPPORTED_SCHEMES = ("postgresql://", "postgres://", "sqlite:///")

MISSING_DATABASE = N_(
    "The database named in {setting} does not exist on its server. Check the database "
    "name at the end of the URL, or ask whoever runs the server to create it."
)
AUTHENTICATION = N_(
    "The database server did not accept the user name or password in {setting}. Check "
    "them (the role must exist and be allowed to log in)."
)
PERMISSION = N_(
    "The database user in {setting} is not allowed to do this. Reviewer commands need "
    "the reviewer role, `attest queue init` the administrator; the node role can only "
    "add accounts."
)
REFUSED = N_(
    "The database server named in {setting} refused the connection. Check the host and port in "
    "the URL, and that the server is running."
)
UNKNOWN_HOST = N_(
    "The host name in {setting} cannot be found. Check its spelling and this machine's "
    "network connection."
)
NOT_SET_UP = N_("The reviewer queue is not set up yet. Run `attest queue init` first.")
NOT_A_QUEUE_FILE = N_(
    "{path} is not an Attest queue file (a field kit or a queue.db). Nothing was read from "
    "it; check that you gave the right file."
)
NO_QUEUE_HERE = N_(
    "There is no reviewer queue at {path}. Check ATTEST_QUEUE_URL (or ATTEST_DATA_DIR); "
    "a new queue is made with `attest queue init`."
)
UNSUPPORTED_SCHEME = N_(
    "{setting} starts with {scheme}, which Attest does not support. Use a postgresql:// "
    "URL or the path of a SQLite file (or sqlite:///PATH)."
)
SETTING = "ATTEST_QUEUE_URL"


class QueueAccessError(StorageError):
    """The queue cannot be used; `template` and `fields` let a caller translate the message."""

    def __init__(self, template: str, **fields: str) -> None:
        super().__init__(template.format(**fields))
        self.template = template
        self.fields = fields

    def translated(self, gettext: Any) -> str:
        """The message in the language of `gettext` (a function or a catalog)."""
        translate = getattr(gettext, "gettext", gettext)
        return str(translate(self.template).format(**self.fields))


def unsupported_scheme(url: str) -> QueueAccessError:
    scheme = url.split("://", 1)[0] + "://" if "://" in url else url
    return QueueAccessError(UNSUPPORTED_SCHEME, setting=SETTING, scheme=scheme[:40])


_SQLSTATES = {
    "3D000": MISSING_DATABASE,
    "28000": AUTHENTICATION,
    "28P01": AUTHENTICATION,
    "42501": PERMISSION,
    "42P01": NOT_SET_UP,
    "3F000": NOT_SET_UP,
}
# libpq's lines for a failed connection (psycopg gives these no SQLSTATE).
_CONNECTION_LINES = (
    ('database "', "does not exist", MISSING_DATABASE),
    ("password authentication failed", "", AUTHENTICATION),
    ('role "', "does not exist", AUTHENTICATION),
    ("no pg_hba.conf entry", "", AUTHENTICATION),
    ("not permitted to log in", "", AUTHENTICATION),
    ("permission denied", "", PERMISSION),
    ("connection refused", "", REFUSED),
    ("failed to resolve host", "", UNKNOWN_HOST),
    ("could not translate host name", "", UNKNOWN_HOST),
)
_SQLITE_NAMES = {
    "SQLITE_NOTADB": NOT_A_QUEUE_FILE,
    "SQLITE_CORRUPT": NOT_A_QUEUE_FILE,
    "SQLITE_CANTOPEN": NO_QUEUE_HERE,
    "SQLITE_PERM": PERMISSION,
    "SQLITE_READONLY": PERMISSION,
    "SQLITE_AUTH": PERMISSION,
}


def explain(error: BaseException, *, path: str | Path | None = None) -> QueueAccessError | None:
    """A named reason for a database error; None if it is not one this module knows.

    `path`: the SQLite file concerned, named in the message (a field kit, say).
    """
    if isinstance(error, QueueAccessError):
        return error
    # An error of SQLAlchemy or sqlite3 exists only once that was imported: looked up, not
    # imported here, so a listing that never loads SQLAlchemy does not load it for this.
    alchemy, sqlite = sys.modules.get("sqlalchemy.exc"), sys.modules.get("sqlite3")
    if alchemy is not None and isinstance(error, alchemy.NoSuchModuleError):
        return QueueAccessError(UNSUPPORTED_SCHEME, setting=SETTING, scheme="?")
    if alchemy is not None and isinstance(error, alchemy.DBAPIError):
        orig = error.orig
    elif sqlite is not None and isinstance(error, sqlite.Error):
        orig = error
    else:
        return None
    where = str(path) if path is not None else SETTING
    sqlite_name = getattr(orig, "sqlite_errorname", None)
    if sqlite_name is not None:
        if "no such table" in str(orig):
            return QueueAccessError(NOT_A_QUEUE_FILE, path=where) if path else _named(NOT_SET_UP)
        template = _SQLITE_NAMES.get(str(sqlite_name))
        return None if template is None else _named(template, where)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _SQLSTATES:
        return _named(_SQLSTATES[str(sqlstate)], where)
    if sqlstate is None:
        line = str(orig).lower()
        for first, second, template in _CONNECTION_LINES:
            if first in line and second in line:
                return _named(template, where)
    return None


def _named(template: str, where: str = SETTING) -> QueueAccessError:
    return QueueAccessError(template, setting=SETTING, path=where)


__all__ = ["QueueAccessError", "explain", "unsupported_scheme"]
