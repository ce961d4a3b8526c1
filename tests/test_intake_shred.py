"""After a shred, the draft's wrapped key and ciphertext appear in no file under the data dir.

SQLite only: PostgreSQL keeps dead tuples until VACUUM and its own WAL (see README).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from flows.types import ShredDraft
from storage.crypto import NodeKeys, ReviewerPrivateKey
from storage.intake.store import SqlIntakeStore, open_intake_store
from tests.intake_support import T0, node, reviewer, session, turn

__all__ = ["node", "reviewer"]  # fixtures used below


@pytest.fixture
async def store(
    node: NodeKeys, reviewer: ReviewerPrivateKey, tmp_path: Path
) -> AsyncIterator[SqlIntakeStore]:
    opened = await open_intake_store(None, node, [reviewer.public], data_dir=tmp_path / "data")
    yield opened
    await opened.close()


def _row(db: Path, respondent: str) -> tuple[bytes, bytes]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT wrapped_key, blob FROM sessions WHERE respondent = ?", (respondent,)
        ).fetchone()
    return bytes(row[0]), bytes(row[1])


def _files_containing(root: Path, needle: bytes) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and needle in p.read_bytes()
    )


async def test_shredded_draft_bytes_are_gone_from_every_file(
    store: SqlIntakeStore, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    db = data / "intake.db"
    long_answer = "Sie kamen in der Nacht. " * 200
    for i in range(3):
        other = session(f"other-{i}", what=f"answer {i}")
        await store.commit_turn(
            other.respondent, turn(other), update_key=f"o{i}", channel="t", now=T0
        )
    await store.commit_turn(
        "resp-a", turn(session("resp-a", what=long_answer)), update_key="a1", channel="t", now=T0
    )
    wrapped, first_blob = _row(db, "resp-a")
    # Move pages into the main file too, so copies exist both there and in the WAL.
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    await store.commit_turn(
        "resp-a",
        turn(session("resp-a", "q3", what=long_answer, more="und danach")),
        update_key="a2",
        channel="t",
        now=T0,
    )
    _, last_blob = _row(db, "resp-a")
    assert _files_containing(data, wrapped), "the search must see the key before the shred"

    result = await store.commit_turn(
        "resp-a", turn(session("resp-a"), ShredDraft()), update_key="a3", channel="t", now=T0
    )

    assert result
    for needle in (wrapped, first_blob[:64], last_blob[:64], last_blob[-64:]):
        assert _files_containing(data, needle) == []
    assert await store.load_session("resp-a") is None
    assert await store.load_session("other-1") == session("other-1", what="answer 1")


async def test_expired_draft_bytes_are_gone_too(store: SqlIntakeStore, tmp_path: Path) -> None:
    data = tmp_path / "data"
    await store.commit_turn(
        "old", turn(session("old", what="x")), update_key="1", channel="t", now=T0
    )
    wrapped, blob = _row(data / "intake.db", "old")
    assert await store.expire_drafts(T0 + timedelta(days=8)) == 1
    assert _files_containing(data, wrapped) == []
    assert _files_containing(data, blob[:64]) == []
