"""What only the database-backed intake store does: durability, ciphertext, sealing, corruption."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from storage.crypto import (
    NodeKeys,
    ReviewerPrivateKey,
    decrypt_file,
    open_account,
    withdrawal_hash,
)
from storage.errors import CorruptDraft, FileTooLarge
from storage.intake.outbox import sealed_from_row
from storage.intake.store import SqlIntakeStore, open_intake_store
from storage.intake.tables import files, outbox, sessions
from tests.intake_support import (
    T0,
    account,
    data_dir,
    database,
    node,
    reviewer,
    session,
    sql_store,
    turn,
)

__all__ = ["data_dir", "database", "node", "reviewer", "sql_store"]  # fixtures used below

ROOT = Path(__file__).resolve().parent.parent

KILLED_AFTER_COMMIT = """
import asyncio, os, signal, sys
from pathlib import Path
from storage.crypto import NodeKeys, ReviewerPublicKey
from storage.intake.store import open_intake_store
from tests.intake_support import T0, session, turn

async def main() -> None:
    data_dir, url = Path(sys.argv[1]), sys.argv[2] or None
    node = NodeKeys.load_or_create(data_dir / "node.key")
    reviewer = ReviewerPublicKey.load(data_dir / "reviewer.pub")
    store = await open_intake_store(url, node, [reviewer], data_dir=data_dir)
    saved = session("resp-k", "q3", what="answer one", when="last spring")
    assert await store.commit_turn("resp-k", turn(saved), update_key="u9", channel="t", now=T0)
    print("acknowledged", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close, no flush: as if the machine died now

asyncio.run(main())
"""


async def test_an_acknowledged_turn_survives_the_process_being_killed(
    database: str | None, reviewer: ReviewerPrivateKey, data_dir: Path
) -> None:
    data_dir.mkdir(parents=True)
    reviewer.public.save(data_dir / "reviewer.pub")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_COMMIT, str(data_dir), database or ""],
        cwd=ROOT,
        env={**os.environ, "ATTEST_TEST_T0": T0.isoformat()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.stdout.strip() == "acknowledged", killed.stderr
    assert killed.returncode == -9
    node = NodeKeys.load_or_create(data_dir / "node.key")
    store = await open_intake_store(database, node, [reviewer.public], data_dir=data_dir)
    try:
        expected = session("resp-k", "q3", what="answer one", when="last spring")
        assert await store.load_session("resp-k") == expected
        assert (await store.load_turn("resp-k", "u9"))[0]
    finally:
        await store.close()


async def test_a_damaged_draft_gives_a_clear_error_and_can_be_started_over(
    sql_store: SqlIntakeStore,
) -> None:
    secret = "Mein Nachbar hat es gesehen"
    await sql_store.commit_turn(
        "resp-a", turn(session("resp-a", what=secret)), update_key="1", channel="t", now=T0
    )
    with sql_store.engine.connect() as conn:
        blob = conn.execute(select(sessions.c.blob)).scalar_one()
    damages = {
        "flipped": blob[:20] + bytes([blob[20] ^ 1]) + blob[21:],
        "truncated": blob[:10],
        "empty": b"",
    }
    for damaged in damages.values():
        with sql_store.engine.begin() as conn:
            conn.execute(update(sessions).values(blob=damaged))
        try:
            await sql_store.load_session("resp-a")
        except CorruptDraft as error:
            assert secret not in str(error) and "resp-a" not in str(error)
        else:
            raise AssertionError("a damaged draft was opened")
    with sql_store.engine.begin() as conn:
        conn.execute(update(sessions).values(wrapped_key=b"\x00" * 60))
    try:
        await sql_store.load_session("resp-a")
    except CorruptDraft:
        pass
    else:
        raise AssertionError("a damaged key was used")
    fresh = session("resp-a", "start")
    assert await sql_store.commit_turn("resp-a", turn(fresh), update_key="2", channel="t", now=T0)
    assert await sql_store.load_session("resp-a") == fresh


async def test_a_submitted_account_opens_only_for_the_reviewer_with_its_files(
    sql_store: SqlIntakeStore, node: NodeKeys, reviewer: ReviewerPrivateKey, data_dir: Path
) -> None:
    voice = b"OggS" + bytes(range(256)) * 300
    kept = await sql_store.store_file("resp-a", io.BytesIO(voice), "voice", "audio/ogg", 10**6)
    dropped = await sql_store.store_file("resp-a", io.BytesIO(b"old"), "photo", None, 10**6)
    result = await sql_store.commit_turn(
        "resp-a",
        turn(None, account=account("AB-12", files=(kept.file_id,), text="they came at night")),
        update_key="1",
        channel="telegram",
        now=T0,
    )
    with sql_store.engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
        file_rows = conn.execute(select(files)).all()
    assert row.account_id == result.account_id
    assert b"they came at night" not in row.body
    sealed = sealed_from_row(row)
    assert sealed.metadata["withdrawal_hash"] == withdrawal_hash(node.withdrawal_secret("ab12"))
    assert "withdrawal_tag" not in sealed.metadata
    assert sealed.metadata["scopes"] == {"archive": "yes", "reports": "no"}
    body = open_account(sealed, reviewer, {node.fingerprint: node.public_key_bytes})
    assert body["answers"][0]["value"] == "they came at night"
    [entry] = body["custody"]["files"]
    assert (entry["file_id"], entry["sha256"], entry["size"]) == (
        kept.file_id,
        kept.sha256,
        len(voice),
    )
    # The node kept no key to the file: it travels only inside the sealed body.
    assert [(r.file_id, r.account_id, r.details) for r in file_rows] == [
        (kept.file_id, result.account_id, None)
    ]
    assert not (data_dir / "files" / dropped.file_id).exists()
    plain = io.BytesIO()
    key = base64.b64decode(entry["key"])
    with (data_dir / "files" / kept.file_id).open("rb") as src:
        decrypt_file(src, plain, key, entry["aad"].encode())
    assert plain.getvalue() == voice


async def test_shredding_a_draft_deletes_its_files(
    sql_store: SqlIntakeStore, data_dir: Path
) -> None:
    ref = await sql_store.store_file("resp-a", io.BytesIO(b"voice"), "voice", None, 100)
    await sql_store.commit_turn(
        "resp-a", turn(session("resp-a")), update_key="1", channel="t", now=T0
    )
    assert (data_dir / "files" / ref.file_id).exists()
    await sql_store.commit_turn("resp-a", turn(None), update_key="2", channel="t", now=T0)
    assert not (data_dir / "files" / ref.file_id).exists()
    assert list((data_dir / "files").iterdir()) == []


async def test_waiting_turns_share_one_commit(sql_store: SqlIntakeStore) -> None:
    before_batches, before_jobs = sql_store.commit_stats
    await asyncio.gather(
        *(
            sql_store.commit_turn(
                f"r{i}", turn(session(f"r{i}")), update_key=f"u{i}", channel="t", now=T0
            )
            for i in range(100)
        )
    )
    batches, jobs = sql_store.commit_stats
    assert jobs - before_jobs >= 100  # (plus the store's own expiry run)
    assert batches - before_batches < 50


async def test_a_turn_whose_caller_gave_up_waiting_is_still_saved_whole(
    sql_store: SqlIntakeStore,
) -> None:
    saving = [
        asyncio.ensure_future(
            sql_store.commit_turn(
                f"r{i}", turn(session(f"r{i}", "q2")), update_key=f"u{i}", channel="t", now=T0
            )
        )
        for i in range(20)
    ]
    await asyncio.sleep(0)  # queued on the writer thread
    for waiting in saving[::2]:
        waiting.cancel()
    done = await asyncio.gather(*saving, return_exceptions=True)
    assert all(isinstance(d, asyncio.CancelledError) for d in done[::2])
    assert all(d for d in done[1::2])
    for i in range(20):  # cancelled or not, every turn is in the store
        assert (await sql_store.load_turn(f"r{i}", f"u{i}"))[0]
        assert (await sql_store.load_session(f"r{i}")) == session(f"r{i}", "q2")


async def test_sqlite_runs_with_the_durable_settings(
    sql_store: SqlIntakeStore, database: str | None
) -> None:
    pragmas = sql_store.pragmas()
    if database is None:
        assert pragmas["journal_mode"] == "wal"
        assert pragmas["synchronous"] == "FULL"
        assert pragmas["secure_delete"] == "ON"
        assert pragmas["foreign_keys"] == "ON"
    else:
        assert pragmas == {}
    assert json.dumps(pragmas)


async def test_one_failing_turn_does_not_lose_the_others_in_its_commit(
    database: str | None, node: NodeKeys, data_dir: Path
) -> None:
    # No reviewer key: sealing must refuse, since nobody could ever open the account.
    store = await open_intake_store(database, node, [], data_dir=data_dir)
    try:
        others = [session(f"r{i}", what=f"answer {i}") for i in range(20)]
        results = await asyncio.gather(
            store.commit_turn(
                "submitter", turn(None, account=account("X-1")), update_key="s", channel="t", now=T0
            ),
            *(
                store.commit_turn(
                    p.respondent, turn(p), update_key=p.respondent, channel="t", now=T0
                )
                for p in others
            ),
            return_exceptions=True,
        )
        assert isinstance(results[0], ValueError)
        assert all(r is not None and not isinstance(r, BaseException) and r for r in results[1:])
        for p in others:
            assert await store.load_session(p.respondent) == p
        # The failed turn was not marked processed, so the channel's retry can apply it.
        assert not (await store.load_turn("someone", "s"))[0]
    finally:
        await store.close()


async def test_two_processes_sharing_a_database_never_mix_draft_keys(
    database: str | None, node: NodeKeys, reviewer: ReviewerPrivateKey, data_dir: Path
) -> None:
    first = await open_intake_store(database, node, [reviewer.public], data_dir=data_dir)
    second = await open_intake_store(database, node, [reviewer.public], data_dir=data_dir)
    try:
        await first.commit_turn(
            "resp-a", turn(session("resp-a")), update_key="1", channel="t", now=T0
        )
        # The person quits and starts again through the other process: a new draft key.
        await second.commit_turn("resp-a", turn(None), update_key="2", channel="t", now=T0)
        restarted = session("resp-a", "q2", what="again")
        await second.commit_turn("resp-a", turn(restarted), update_key="3", channel="t", now=T0)
        later = session("resp-a", "q3", what="again", more="and more")
        await first.commit_turn("resp-a", turn(later), update_key="4", channel="t", now=T0)
        assert await second.load_session("resp-a") == later
        assert await first.load_session("resp-a") == later
    finally:
        await first.close()
        await second.close()


async def test_files_an_interrupted_upload_left_behind_are_swept_on_open(
    database: str | None, node: NodeKeys, reviewer: ReviewerPrivateKey, data_dir: Path
) -> None:
    store = await open_intake_store(database, node, [reviewer.public], data_dir=data_dir)
    kept = await store.store_file("resp-a", io.BytesIO(b"voice"), "voice", None, 100)
    await store.close()
    vault = data_dir / "files"
    stale_orphan, stale_part, fresh_part = vault / ("ab" * 16), vault / "cd.part", vault / "ef.part"
    for path in (stale_orphan, stale_part, fresh_part):
        path.write_bytes(b"ciphertext whose key died with the process")
    for path in (stale_orphan, stale_part, vault / kept.file_id):
        os.utime(path, (1, 1))
    reopened = await open_intake_store(database, node, [reviewer.public], data_dir=data_dir)
    await reopened.close()
    assert sorted(p.name for p in vault.iterdir()) == sorted([kept.file_id, "ef.part"])


async def test_expired_drafts_are_shredded_when_the_store_opens(
    database: str | None, node: NodeKeys, reviewer: ReviewerPrivateKey, data_dir: Path
) -> None:
    store = await open_intake_store(
        database, node, [reviewer.public], data_dir=data_dir, expire=False
    )
    weeks_ago = T0 - timedelta(days=30)
    await store.commit_turn(
        "resp-a", turn(session("resp-a")), update_key="1", channel="t", now=weeks_ago
    )
    assert await store.load_session("resp-a") == session("resp-a")
    await store.close()
    reopened = await open_intake_store(database, node, [reviewer.public], data_dir=data_dir)
    try:
        for _ in range(100):
            if await reopened.load_session("resp-a") is None:
                break
            await asyncio.sleep(0.01)
        assert await reopened.load_session("resp-a") is None
    finally:
        await reopened.close()


async def test_a_refused_file_leaves_nothing_on_disk(
    sql_store: SqlIntakeStore, data_dir: Path
) -> None:
    try:
        await sql_store.store_file("resp-a", io.BytesIO(b"x" * 300_000), "voice", None, 200_000)
    except FileTooLarge:
        pass
    else:
        raise AssertionError("an oversized file was kept")
    assert list((data_dir / "files").iterdir()) == []


async def test_an_account_is_sealed_even_when_its_draft_key_is_damaged(
    sql_store: SqlIntakeStore, node: NodeKeys, reviewer: ReviewerPrivateKey, data_dir: Path
) -> None:
    ref = await sql_store.store_file("resp-a", io.BytesIO(b"voice"), "voice", None, 100)
    with sql_store.engine.begin() as conn:
        conn.execute(update(sessions).values(wrapped_key=b"\x01" * 60))
    result = await sql_store.commit_turn(
        "resp-a",
        turn(None, account=account("AB-99", files=(ref.file_id,), text="still here")),
        update_key="1",
        channel="t",
        now=T0,
    )
    with sql_store.engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
    body = open_account(sealed_from_row(row), reviewer, {node.fingerprint: node.public_key_bytes})
    assert row.account_id == result.account_id
    assert body["answers"][0]["value"] == "still here"
    assert body["custody"]["files"] == []
    assert not (data_dir / "files" / ref.file_id).exists()
