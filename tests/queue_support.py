"""Shared helpers for the queue, sync, review and audit tests: keys, sealed accounts, queues.

`queue_url` gives a fresh queue on SQLite (a file in tmp_path) or, with
ATTEST_TEST_DATABASE_URL set, on PostgreSQL in a schema of its own that is dropped after
the test, so tests never touch other tables in the shared test database.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from flows.account import answer_sha256
from storage.crypto import (
    FAST_KDF,
    NodeKeys,
    ReviewerPrivateKey,
    SealedAccount,
    encrypt_file,
    generate_reviewer_key,
    seal_account,
    withdrawal_hash,
)
from storage.crypto.triage import TriageKey, issue_triage_key, triage_key_path
from storage.intake.drafts import FileDetails, file_aad
from storage.queue.admin import migrate_queue, open_queue
from storage.queue.rows import queue_row
from storage.queue.store import Queue
from storage.sync import OutgoingAccount, OutgoingFile, insert_accounts, node_signer

PG_URL = os.environ.get("ATTEST_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PASSPHRASE = "correct horse battery staple"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def require_backend(backend: str) -> None:
    if backend == "postgres" and not PG_URL:
        pytest.skip("ATTEST_TEST_DATABASE_URL is not set")


def _admin_url() -> str:
    assert PG_URL
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def pg_schema_url(schema: str, url: str | None = None) -> str:
    base = url or PG_URL
    assert base
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"


def create_schema() -> str:
    schema = "q_" + uuid.uuid4().hex[:12]
    engine = create_engine(_admin_url())
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    return schema


def drop_schema(schema: str) -> None:
    engine = create_engine(_admin_url())
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    engine.dispose()


def fresh_queue_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A queue URL for `backend`, created and migrated; cleaned up after."""
    require_backend(backend)
    if backend == "sqlite":
        url = str(tmp_path / f"queue-{uuid.uuid4().hex[:6]}.db")
        engine = open_queue(url)
        migrate_queue(engine)
        engine.dispose()
        yield url
        return
    schema = create_schema()
    url = pg_schema_url(schema)
    engine = open_queue(url)
    migrate_queue(engine)
    engine.dispose()
    try:
        yield url
    finally:
        drop_schema(schema)


_REVIEWERS: dict[str, ReviewerPrivateKey] = {}


def reviewer(name: str = "a") -> ReviewerPrivateKey:
    """A reviewer key pair (X25519: fast), one per name per test run."""
    if name not in _REVIEWERS:
        _REVIEWERS[name] = generate_reviewer_key("x25519")
    return _REVIEWERS[name]


_TRIAGE_KEYS: dict[str, TriageKey] = {}


def triage_key(name: str = "a") -> TriageKey:
    """The triage key of reviewer `name`, certified by its main key, one per name per run."""
    if name not in _TRIAGE_KEYS:
        _TRIAGE_KEYS[name] = issue_triage_key(reviewer(name))
    return _TRIAGE_KEYS[name]


def save_reviewer(path: Path, name: str = "a") -> Path:
    """The key file, and the triage key beside it (as `attest keys init-reviewer` makes)."""
    reviewer(name).save(path, PASSPHRASE, kdf_params=FAST_KDF)
    triage_key(name).save(triage_key_path(path))
    return path


def answer(
    step: str,
    question: str,
    value: Any,
    *,
    identifying: bool = False,
    kind: str = "free-text",
    files: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "step": step,
        "question": question,
        "kind": kind,
        "status": "answered",
        "value": value,
        "labels": [],
        "section": "account",
        "identifying": identifying,
        "elements": ["E1"],
        "received_at": T0.isoformat(),
        "sha256": answer_sha256(tuple(value) if isinstance(value, list) else value),
        "message_ids": [11],
        "files": list(files),
    }


DEFAULT_ANSWERS = (
    ("what-happened", "In your own words, what happened?", "They closed the school for girls."),
    ("name", "If you want, tell us a name we can use for you.", "Layla"),
)


def make_body(
    scopes: dict[str, str],
    *,
    urgent: bool = False,
    answers: Sequence[dict[str, Any]] | None = None,
    files: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    if answers is None:
        answers = [
            answer(DEFAULT_ANSWERS[0][0], DEFAULT_ANSWERS[0][1], DEFAULT_ANSWERS[0][2]),
            answer(
                DEFAULT_ANSWERS[1][0],
                DEFAULT_ANSWERS[1][1],
                DEFAULT_ANSWERS[1][2],
                identifying=True,
            ),
        ]
    return {
        "flow": "survivor",
        "flow_version": "1",
        "language": "en",
        "mode": "survivor",
        "urgent": urgent,
        "consent": {
            "text_version": "abc123",
            "language": "en",
            "given_at": T0.isoformat(),
            "scopes": dict(scopes),
            "affirmed_by_documenter": False,
        },
        "answers": list(answers),
        "started_at": T0.isoformat(),
        "submitted_at": (T0 + timedelta(minutes=20)).isoformat(),
        "custody": {"channel": "console", "files": list(files)},
    }


FULL_SCOPES = {
    "archive": "yes",
    "reports": "yes",
    "mechanisms": "named",
    "contact": "no",
    "referral": "no",
}


def make_account(
    node: NodeKeys,
    reviewers: Sequence[ReviewerPrivateKey],
    *,
    scopes: dict[str, str] | None = None,
    urgent: bool = False,
    reference: str | None = None,
    answers: Sequence[dict[str, Any]] | None = None,
    attachments: Sequence[bytes] = (),
    signed_scopes: dict[str, str] | None = None,
) -> OutgoingAccount:
    """A sealed account as the intake store would make it, with encrypted files.

    `signed_scopes` puts other scopes in the signed metadata than in the body (a node bug).
    """
    import io
    import secrets

    scopes = dict(scopes or FULL_SCOPES)
    file_entries: list[dict[str, Any]] = []
    outgoing: list[OutgoingFile] = []
    for content in attachments:
        file_id = secrets.token_hex(16)
        key = secrets.token_bytes(32)
        dst = io.BytesIO()
        sha, size = encrypt_file(io.BytesIO(content), dst, key, file_aad(file_id))
        file_entries.append(
            FileDetails(file_id, key, "voice", "audio/ogg", sha, size).sealed_entry()
        )
        outgoing.append(OutgoingFile(file_id, dst.getvalue()))
    if answers is None and attachments:
        answers = [
            answer(
                "what-happened",
                "In your own words, what happened?",
                "See the voice note.",
                files=[f.file_id for f in outgoing],
            )
        ]
    body = make_body(scopes, urgent=urgent, answers=answers, files=file_entries)
    metadata = {
        "flow": "survivor",
        "flow_version": "1",
        "language": "en",
        "channel": "console",
        "urgent": urgent,
        "scopes": signed_scopes or scopes,
        "started_at": T0.isoformat(),
        "submitted_at": (T0 + timedelta(minutes=20)).isoformat(),
        "withdrawal_hash": withdrawal_hash(
            node.withdrawal_secret(reference or secrets.token_hex(6))
        ),
    }
    sealed = seal_account(body, metadata, [r.public for r in reviewers], node)
    return OutgoingAccount(sealed, tuple(outgoing))


def put_accounts(
    url: str,
    node: NodeKeys,
    items: Sequence[OutgoingAccount],
    received_at: datetime | None = None,
) -> None:
    """Insert accounts as sync would, then log their receipt as sync with rights would.

    The receipts are signed by the node (`node:<fingerprint>`), as `attest sync` signs them.
    """
    engine = open_queue(url)
    with engine.begin() as conn:
        insert_accounts(
            conn, items, received_at or datetime.now(UTC), {node.fingerprint: node.public_key_bytes}
        )
    Queue(engine, signer=node_signer(node)).reconcile()
    engine.dispose()


def put_many(url: str, node: NodeKeys, count: int, start: datetime = T0) -> list[str]:
    """`count` accounts with distinct receipt times, fast: one sealed body copied under new ids.

    Their signatures do not verify (the id is signed): for claim and list mechanics only.
    """
    import json
    import secrets

    base = make_account(node, [reviewer("a")]).sealed
    engine = open_queue(url)
    rows = []
    for i in range(count):
        document = base.to_dict()
        document["account_id"] = secrets.token_hex(16)
        sealed = SealedAccount.from_dict(json.loads(json.dumps(document)))
        rows.append(queue_row(sealed, start + timedelta(seconds=i)))
    from storage.db import insert_ignore
    from storage.queue.tables import accounts

    with engine.begin() as conn:
        insert_ignore(conn, accounts, rows)
        conn.execute(text("UPDATE accounts SET receipt_logged = true"))
    engine.dispose()
    return [r["id"] for r in rows]


@contextlib.contextmanager
def pg_role(queue_url: str, kind: str) -> Iterator[str]:
    """A new PostgreSQL login role ("node" or "reviewer") on the queue at `queue_url`; its URL.

    The role is created with `attest queue init`'s own grants and dropped afterwards.
    """
    from storage.queue.admin import create_node_role, create_reviewer_role

    assert PG_URL
    role = f"{kind}_" + uuid.uuid4().hex[:10]
    create = create_node_role if kind == "node" else create_reviewer_role
    engine = open_queue(queue_url)
    try:
        create(engine, role, None)
        yield queue_url.replace("postgres@", f"{role}@", 1)
    finally:
        engine.dispose()
        admin = create_engine(_admin_url())
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()
