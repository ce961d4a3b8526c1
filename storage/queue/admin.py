"""Creating, migrating and locating the reviewer queue; the node's INSERT-only role.

`ATTEST_QUEUE_URL` names the queue: a plain `postgresql://` URL, any SQLAlchemy URL, or a
SQLite file path; without it, `queue.db` in the data directory. Migrations live in
`storage/queue/migrations/` (their own Alembic environment and version table).

On PostgreSQL the node runs sync as a role that can do nothing but insert:

    GRANT USAGE ON SCHEMA <schema> TO <role>;
    GRANT INSERT ON nodes, account_files TO <role>;
    GRANT INSERT (secret, requested_at, batch) ON withdrawals TO <role>;
    GRANT INSERT (id, received_at, ..., sealed) ON accounts TO <role>;

It cannot read, change or delete anything, and cannot set any reviewer field (status,
assignee, receipt_logged) nor decide a withdrawal. Receipts are written to the audit
log, and withdrawals examined and applied, by the next command run with reviewer or
administrator rights. Grants start with REVOKE ALL, so running `queue init` again with
the same role name brings an older role's rights to these.

A role's password never appears in a statement (server logs may keep statements): the
statement carries a SCRAM-SHA-256 verifier computed here (`scram_verifier`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from storage.db import create_store_engine, database_url
from storage.errors import N_, StorageError
from storage.queue.place import display_url as display_url  # callers' old home for these
from storage.queue.place import queue_url_from_env as queue_url_from_env
from storage.queue.reach import (
    NO_QUEUE_HERE,
    NOT_SET_UP,
    PERMISSION,
    QueueAccessError,
    explain,
    unsupported_scheme,
)
from storage.queue.schema import QUEUE_HEAD, VERSION_TABLE
from storage.queue.tables import NODE_ACCOUNT_COLUMNS, NODE_WITHDRAWAL_COLUMNS, queue_info

MIGRATIONS = Path(__file__).with_name("migrations")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class QueueSetupError(StorageError):
    """The queue cannot be created or configured as asked."""


class QueueUnreachable(StorageError):
    default_message = N_(
        "The reviewer queue cannot be reached. Check ATTEST_QUEUE_URL and that the database "
        "is running, then try again."
    )


SCHEMES = ("postgresql", "postgres", "sqlite")


def open_queue(url: str, *, create: bool = True) -> Engine:
    """An engine for the queue, with the same SQLite durability settings as the intake store.

    `create=False` (every command that only uses an existing queue): a SQLite path where
    no file is raises QueueAccessError instead of leaving an empty file and its folder.
    A URL scheme other than PostgreSQL or SQLite is refused with the ones supported.
    """
    if "://" in url and url.split("://", 1)[0].split("+", 1)[0] not in SCHEMES:
        raise unsupported_scheme(url)
    if not create:
        path = sqlite_path(url)
        if path is not None and not path.is_file():
            raise QueueAccessError(NO_QUEUE_HERE, setting="ATTEST_QUEUE_URL", path=str(path))
    return create_store_engine(url)


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite queue URL or path names (None for PostgreSQL or in-memory)."""
    parsed = database_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def migrate_queue(engine: Engine) -> str:
    """Create or upgrade the queue's tables to the newest revision; the queue's id."""
    # Alembic only here (queue init, a field kit's first sync): every other command
    # starts without it (issue 16: it was most of `review list`'s start-up).
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        existing = conn.execute(select(queue_info.c.queue_id)).scalar_one_or_none()
        if existing is not None:
            return str(existing)
        queue_id = uuid.uuid4().hex
        conn.execute(insert(queue_info).values(queue_id=queue_id, created_at=datetime.now(UTC)))
        return queue_id


OUTDATED = N_(
    "The reviewer queue was made by another version of Attest. Ask whoever administers "
    "it to run `attest queue init`, which brings it up to date."
)


def check_schema(engine: Engine) -> None:
    """One query instead of Alembic's runtime: QueueSetupError unless the queue is at head.

    A role that may not read the version table (PostgreSQL's reviewer and node roles)
    skips the check; the administrator's `queue init` migrates.
    """
    try:
        with engine.connect() as conn:
            version = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except DBAPIError as error:
        explained = explain(error)
        if explained is not None and explained.template == PERMISSION:
            return
        raise QueueSetupError(NOT_SET_UP) from None
    if version != QUEUE_HEAD:
        raise QueueSetupError(OUTDATED)


def queue_id(engine: Engine) -> str:
    """The queue's random id; QueueSetupError when the queue was never initialised."""
    try:
        with engine.connect() as conn:
            found = conn.execute(select(queue_info.c.queue_id)).scalar_one_or_none()
    except DBAPIError as error:
        # Which problem it is, from the driver's own error (storage.queue.reach).
        explained = explain(error)
        if explained is None:
            raise QueueUnreachable() from None
        if explained.template == NOT_SET_UP:
            raise QueueSetupError(NOT_SET_UP) from None
        raise explained from None
    if found is None:
        raise QueueSetupError(NOT_SET_UP)
    return str(found)


def _check_names(role: str, schema: str) -> None:
    if not _ROLE_NAME.match(role) or not _ROLE_NAME.match(schema):
        raise QueueSetupError(
            N_("Role and schema names may use lower-case letters, digits and _ only.")
        )


def node_role_grants(role: str, schema: str) -> list[str]:
    """The statements that give `role` INSERT on the node's tables and nothing else."""
    _check_names(role, schema)
    columns = ", ".join(NODE_ACCOUNT_COLUMNS)
    request_columns = ", ".join(NODE_WITHDRAWAL_COLUMNS)
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT INSERT ON {schema}.nodes, {schema}.account_files, {schema}.node_rotations "
        f"TO {role}",
        f"GRANT INSERT ({request_columns}) ON {schema}.withdrawals TO {role}",
        f"GRANT INSERT ({columns}) ON {schema}.accounts TO {role}",
    ]


def reviewer_role_grants(role: str, schema: str) -> list[str]:
    """Reviewers read and change the queue, and may only append to the audit log.

    No UPDATE or DELETE on `audit_log`: a reviewer's credentials cannot rewrite history
    (only the administrator's could, and the witnesses catch that). Only SELECT on `nodes`:
    deleting a node's row and inserting another key under its fingerprint would otherwise
    be one reviewer's way to mislead another's pin. No DDL, and nothing on the migration
    version table.
    """
    _check_names(role, schema)
    working = ", ".join(
        f"{schema}.{t}"
        for t in (
            "accounts",
            "account_files",
            "account_tags",
            "account_notes",
            "withdrawals",
            "reseals",
        )
    )
    return [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
        f"GRANT USAGE ON SCHEMA {schema} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {working} TO {role}",
        f"GRANT SELECT ON {schema}.nodes, {schema}.queue_info, {schema}.node_rotations TO {role}",
        f"GRANT SELECT, INSERT ON {schema}.audit_log TO {role}",
    ]


def create_role(
    engine: Engine, role: str, password: str | None, grants: Callable[[str, str], list[str]]
) -> list[str]:
    """Create (if needed) a login role and run `grants(role, schema)`; the statements run."""
    if engine.dialect.name != "postgresql":
        raise QueueSetupError(
            N_("Separate database roles exist only on PostgreSQL; a SQLite queue is a file.")
        )
    with engine.begin() as conn:
        schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
        statements = grants(role, schema)
        exists = conn.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        # DDL takes no bind parameters; the verifier is base64 and '$', ':' only, so the
        # literal needs no escaping, and the password itself is never sent.
        verifier = f" PASSWORD '{scram_verifier(password)}'" if password else ""
        if exists is None:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN{verifier}")
        elif verifier:
            conn.exec_driver_sql(f"ALTER ROLE {role}{verifier}")
        for grant in statements:
            conn.exec_driver_sql(grant)
    return statements


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802, RFC 7677).

    PostgreSQL stores a well-formed verifier as given, so the password stays on this
    machine. Non-ASCII passwords are NFKC-normalised, as PostgreSQL's SASLprep does for
    common text.
    """
    if not password.isascii():
        password = unicodedata.normalize("NFKC", password)
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def create_node_role(engine: Engine, role: str, password: str | None) -> list[str]:
    """A login role for the node with INSERT only (see `node_role_grants`)."""
    return create_role(engine, role, password, node_role_grants)


def create_reviewer_role(engine: Engine, role: str, password: str | None) -> list[str]:
    """A login role for reviewers (see `reviewer_role_grants`)."""
    return create_role(engine, role, password, reviewer_role_grants)
