"""Fixtures and builders shared by the intake store tests.

Stores run on SQLite always and on PostgreSQL when ATTEST_TEST_DATABASE_URL is set; each
PostgreSQL test gets its own schema (through the connection's search_path), dropped after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text

from flows.types import Answer, AnswerRecord, ConsentRecord, FinishedAccount, Session, Turn
from storage.crypto import NodeKeys, ReviewerPrivateKey, generate_reviewer_key
from storage.db import create_store_engine
from storage.intake.memory import MemoryIntakeStore
from storage.intake.store import SqlIntakeStore, open_intake_store

PG_URL = os.environ.get("ATTEST_TEST_DATABASE_URL")
# Recent, so that drafts written "at T0" have not expired when a store opens (and shreds
# expired drafts) during a test.
# A subprocess of a test gets its parent's T0 through ATTEST_TEST_T0.
T0 = (
    datetime.fromisoformat(os.environ["ATTEST_TEST_T0"])
    if "ATTEST_TEST_T0" in os.environ
    else (datetime.now(UTC) - timedelta(days=1)).replace(second=0, microsecond=0)
)

_pg = pytest.param(
    "postgresql",
    marks=[
        pytest.mark.postgres,
        pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set"),
    ],
)
SQL_BACKENDS = ["sqlite", _pg]
ALL_BACKENDS = ["sqlite", _pg, "memory"]


@pytest.fixture(scope="session")
def node() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture(scope="session")
def reviewer() -> ReviewerPrivateKey:
    return generate_reviewer_key("x25519")


def _pg_schema_url(schema: str) -> str:
    assert PG_URL is not None
    joiner = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{joiner}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose connections use a fresh schema, dropped afterwards."""
    assert PG_URL is not None
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=SQL_BACKENDS)
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for SQLite in the data directory, or a PostgreSQL URL with a fresh schema."""
    if request.param == "sqlite":
        yield None
        return
    with pg_schema() as url:
        yield url


@pytest.fixture(params=SQL_BACKENDS)
def store_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A bare store engine (no tables): SQLite in tmp_path, or PostgreSQL in a fresh schema."""
    with pg_schema() if request.param == "postgresql" else nullcontext() as url:
        made = create_store_engine(url or tmp_path / "store.db")
        yield made
        made.dispose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def sql_store(
    database: str | None, node: NodeKeys, reviewer: ReviewerPrivateKey, data_dir: Path
) -> AsyncIterator[SqlIntakeStore]:
    store = await open_intake_store(database, node, [reviewer.public], data_dir=data_dir)
    yield store
    await store.close()


@pytest.fixture(params=ALL_BACKENDS)
async def any_store(
    request: pytest.FixtureRequest,
    node: NodeKeys,
    reviewer: ReviewerPrivateKey,
    tmp_path: Path,
) -> AsyncIterator[SqlIntakeStore | MemoryIntakeStore]:
    """The SQL store on each database, and the in-memory fake: they must behave alike."""
    if request.param == "memory":
        yield MemoryIntakeStore(node)
        return
    with ExitStack() as stack:
        url = stack.enter_context(pg_schema()) if request.param == "postgresql" else None
        store = await open_intake_store(url, node, [reviewer.public], data_dir=tmp_path / "d")
        yield store
        await store.close()


def session(respondent: str, state: str = "q1", **answers: str) -> Session:
    """A session waiting at `state` with free-text `answers` already given."""
    return Session(
        respondent=respondent,
        flow="survivor",
        flow_version="1",
        language="en",
        state=state,
        answers={
            step: Answer(step=step, status="answered", value=value, received_at=T0)
            for step, value in answers.items()
        },
        history=tuple(answers),
        started_at=T0,
        updated_at=T0,
    )


def turn(sess: Session | None, *effects: object, account: FinishedAccount | None = None) -> Turn:
    return Turn(session=sess, messages=(), account=account, effects=tuple(effects))  # type: ignore[arg-type]


def account(
    reference_code: str, *, files: tuple[str, ...] = (), text: str = "it happened"
) -> FinishedAccount:
    """A submitted account with one free-text answer (and files attached to it)."""
    consent = ConsentRecord(
        text_version="v1", language="en", given_at=T0, scopes={"archive": "yes", "reports": "no"}
    )
    record = AnswerRecord(
        step="what",
        question="What happened?",
        kind="text",
        status="answered",
        value=text,
        labels=(),
        section="events",
        identifying=False,
        elements=(),
        received_at=T0,
        sha256=None,
        message_ids=(7,),
        files=files,
    )
    return FinishedAccount(
        flow="survivor",
        flow_version="1",
        language="en",
        mode="survivor",
        urgent=False,
        consent=consent,
        answers=(record,),
        reference_code=reference_code,
        started_at=T0,
        submitted_at=T0 + timedelta(minutes=30),
    )
