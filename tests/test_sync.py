"""Sync from a real intake store's outbox to the queue: idempotent, resumable, INSERT-only."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from flows.types import AnswerRecord, ConsentRecord, FinishedAccount, RecordWithdrawal, Turn
from storage.crypto import NodeKeys
from storage.db import create_store_engine
from storage.intake.store import DATABASE_FILE, FILES_DIR, open_intake_store
from storage.queue.admin import create_node_role, migrate_queue, open_queue
from storage.queue.kit_import import import_queue_file
from storage.queue.store import Queue
from storage.queue.tables import account_files, accounts, audit_log
from storage.sync import DatabaseUnreachable, Outbox, sync_outbox, with_retries
from tests.queue_support import (
    BACKENDS,
    PG_URL,
    create_schema,
    drop_schema,
    fresh_queue_url,
    pg_schema_url,
    reviewer,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def finished(reference: str, files: tuple[str, ...] = ()) -> FinishedAccount:
    return FinishedAccount(
        flow="survivor",
        flow_version="1",
        language="en",
        mode="survivor",
        urgent=False,
        consent=ConsentRecord(
            "v1", "en", T0, {"archive": "yes", "reports": "yes", "mechanisms": "no"}
        ),
        answers=(
            AnswerRecord(
                "what-happened",
                "In your own words, what happened?",
                "free-text",
                "answered",
                "They took my brother.",
                (),
                "account",
                False,
                ("E1",),
                T0,
                None,
                (1,),
                files,
            ),
        ),
        reference_code=reference,
        started_at=T0,
        submitted_at=T0 + timedelta(minutes=5),
    )


async def _fill(data_dir: Path, node: NodeKeys, count: int, files_every: int) -> list[str]:
    store = await open_intake_store(None, node, [reviewer("a").public], data_dir=data_dir)
    ids = []
    try:
        for i in range(count):
            respondent = f"person{i}"
            attached: tuple[str, ...] = ()
            if files_every and i % files_every == 0:
                media = await store.store_file(
                    respondent, io.BytesIO(b"voice %d" % i * 500), "voice", "audio/ogg", 10**6
                )
                attached = (media.file_id,)
            result = await store.commit_turn(
                respondent,
                Turn(session=None, messages=(), account=finished(f"CODE{i}", attached)),
                update_key=None,
                channel="console",
                now=T0 + timedelta(seconds=i),
            )
            assert result.account_id
            ids.append(result.account_id)
    finally:
        await store.close()
    return ids


def fill_outbox(data_dir: Path, node: NodeKeys, count: int, files_every: int = 3) -> list[str]:
    """`count` accounts sealed by the real intake store (every few with a voice note)."""
    return asyncio.run(_fill(data_dir, node, count, files_every))


def request_withdrawal(data_dir: Path, node: NodeKeys, code: str) -> None:
    """/withdraw CODE as the intake store records it."""

    async def withdraw() -> None:
        store = await open_intake_store(None, node, [reviewer("a").public], data_dir=data_dir)
        await store.commit_turn(
            "someone",
            Turn(session=None, messages=(), effects=(RecordWithdrawal(code),)),
            update_key=None,
            channel="console",
            now=T0,
        )
        await store.close()

    asyncio.run(withdraw())


def outbox_for(data_dir: Path) -> Outbox:
    return Outbox(create_store_engine(data_dir / DATABASE_FILE), data_dir / FILES_DIR)


def queue_state(url: str) -> tuple[list[str], int, list[str]]:
    """(account ids, file rows, account ids with a "received" entry — one per receipt)."""
    engine = open_queue(url)
    Queue(engine).reconcile()
    with engine.connect() as conn:
        ids = sorted(conn.execute(select(accounts.c.id)).scalars())
        files = conn.execute(select(func.count()).select_from(account_files)).scalar_one()
        received = sorted(
            conn.execute(
                select(audit_log.c.account_id).where(audit_log.c.action == "received")
            ).scalars()
        )
    engine.dispose()
    return ids, files, received


@pytest.fixture(params=BACKENDS)
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(request.param, tmp_path)


def test_sync_moves_everything_once_and_empties_the_node(tmp_path: Path, queue_url: str) -> None:
    node = NodeKeys.generate()
    data = tmp_path / "node"
    ids = fill_outbox(data, node, 12)
    assert len(list((data / FILES_DIR).iterdir())) == 4
    seen = []
    report = sync_outbox(
        outbox_for(data),
        open_queue(queue_url),
        {node.fingerprint: node.public_key_bytes},
        batch_size=5,
        progress=seen.append,
    )
    assert (report.accounts, report.files) == (12, 4)
    assert [p.accounts_done for p in seen] == [5, 10, 12]
    assert outbox_for(data).counts() == (0, 0)
    assert list((data / FILES_DIR).iterdir()) == []
    assert queue_state(queue_url) == (sorted(ids), 4, sorted(ids))
    again = sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert again.accounts == 0
    assert queue_state(queue_url) == (sorted(ids), 4, sorted(ids))


def test_a_queue_failing_half_way_then_a_rerun_gives_every_account_once(
    tmp_path: Path, queue_url: str
) -> None:
    node = NodeKeys.generate()
    data = tmp_path / "node"
    ids = fill_outbox(data, node, 20)

    def queue_goes_away(batch: int) -> None:
        if batch == 2:
            raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection"))

    with pytest.raises(OperationalError):
        sync_outbox(
            outbox_for(data),
            open_queue(queue_url),
            {},
            batch_size=6,
            between_commits=queue_goes_away,
        )
    assert outbox_for(data).counts()[0] == 14  # batch 2 committed in the queue, still on the node
    sync_outbox(outbox_for(data), open_queue(queue_url), {}, batch_size=6)
    assert queue_state(queue_url) == (sorted(ids), 7, sorted(ids))


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from storage.db import create_store_engine
    from storage.queue.admin import open_queue
    from storage.sync import Outbox, sync_outbox

    data, url, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    outbox = Outbox(create_store_engine(data / "intake.db"), data / "files")

    def between(batch):
        if mode == "between" and batch == 3:
            os.kill(os.getpid(), signal.SIGKILL)

    def progress(p):
        print(p.accounts_done, flush=True)

    sync_outbox(outbox, open_queue(url), {}, batch_size=4, between_commits=between, progress=progress)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["between", "anywhere"])
def test_sync_killed_then_rerun_gives_every_account_once(
    tmp_path: Path, queue_url: str, mode: str
) -> None:
    node = NodeKeys.generate()
    data = tmp_path / "node"
    ids = fill_outbox(data, node, 30)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data), queue_url, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    if mode == "anywhere":
        assert child.stdout is not None
        child.stdout.readline()  # one batch through: kill wherever it is now
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    left = outbox_for(data).counts()[0]
    assert 0 < left < 30
    sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert queue_state(queue_url) == (sorted(ids), 10, sorted(ids))
    assert list((data / FILES_DIR).iterdir()) == []


def test_files_of_a_sync_killed_after_its_delete_go_with_the_next_sync(
    tmp_path: Path, queue_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between deleting synced accounts and unlinking their files: none stays behind."""
    node = NodeKeys.generate()
    data = tmp_path / "node"
    ids = fill_outbox(data, node, 6)
    assert any((data / FILES_DIR).iterdir())
    # The process dies right after the node's commit, before any file is unlinked.
    monkeypatch.setattr(Outbox, "drop_unlinked_files", lambda self: 0)
    sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert outbox_for(data).counts() == (0, 0)
    assert any((data / FILES_DIR).iterdir())
    monkeypatch.undo()
    report = sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert report.accounts == 0
    assert list((data / FILES_DIR).iterdir()) == []
    assert queue_state(queue_url)[0] == sorted(ids)


def test_withdrawal_requests_sync_and_tombstone_the_account(tmp_path: Path, queue_url: str) -> None:
    node = NodeKeys.generate()
    data = tmp_path / "node"
    ids = fill_outbox(data, node, 3, files_every=1)
    sync_outbox(outbox_for(data), open_queue(queue_url), {})

    request_withdrawal(data, node, "code1")
    report = sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert (report.withdrawals, report.withdrawals_applied) == (1, 1)
    queue = Queue(open_queue(queue_url))
    assert sorted(i.account_id for i in queue.list_accounts()) == sorted(ids[0:1] + ids[2:])
    assert queue.item(ids[1]).withdrawn_at is not None
    with queue.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(account_files)).scalar_one() == 2
    queue.close()


def test_retries_back_off_then_give_a_clear_error() -> None:
    calls: list[int] = []
    delays: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("connect", {}, ConnectionRefusedError("refused"))
        return "done"

    assert with_retries(flaky, sleep=delays.append) == "done"
    assert delays == [1.0, 2.0]

    def down() -> None:
        raise OperationalError("connect", {}, ConnectionRefusedError("refused"))

    delays.clear()
    with pytest.raises(DatabaseUnreachable, match="nothing was lost"):
        with_retries(down, attempts=4, sleep=delays.append)
    assert delays == [1.0, 2.0, 4.0]


def test_retries_are_tenacity_capped_reported_and_only_for_connection_failures() -> None:
    """Issue 17: the backoff is tenacity's, with the same delays, cap and report as before."""
    import tenacity

    reported: list[tuple[int, float]] = []
    delays: list[float] = []
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) <= 9:
            raise OperationalError("connect", {}, ConnectionRefusedError("refused"))
        return "up"

    # attempts=None (sync --watch) never gives up; the delay stops growing at max_delay.
    on_retry = lambda n, d: reported.append((n, d))  # noqa: E731
    assert with_retries(flaky, attempts=None, sleep=delays.append, on_retry=on_retry) == "up"
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert reported == list(enumerate(delays, start=1))

    def broken() -> None:
        raise ProgrammingError("select", {}, ValueError("no such table"))

    delays.clear()
    with pytest.raises(ProgrammingError):  # a bug or a setup problem: at once, unwrapped
        with_retries(broken, sleep=delays.append)
    assert delays == []

    def down() -> None:
        raise OperationalError("connect", {}, ConnectionRefusedError("refused"))

    with pytest.raises(DatabaseUnreachable) as raised:
        with_retries(down, attempts=2, sleep=delays.append)
    assert isinstance(raised.value.__cause__, OperationalError)  # what failed, kept
    assert not isinstance(raised.value, tenacity.RetryError)


def test_field_kit_file_imports_idempotently(tmp_path: Path, queue_url: str) -> None:
    node = NodeKeys.generate()
    data = tmp_path / "node"
    ids = fill_outbox(data, node, 7)
    kit_path = tmp_path / "kit.db"
    kit = open_queue(str(kit_path))
    migrate_queue(kit)
    sync_outbox(outbox_for(data), kit, {node.fingerprint: node.public_key_bytes})
    target = open_queue(queue_url)
    assert import_queue_file(kit, target, batch_size=3) == (7, 0)
    assert import_queue_file(kit, target, batch_size=3) == (7, 0)
    assert queue_state(queue_url) == (sorted(ids), 3, sorted(ids))
    assert Queue(target).node_key(node.fingerprint) == node.public_key_bytes


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
def test_sync_runs_as_the_insert_only_role(tmp_path: Path) -> None:
    assert PG_URL
    schema = create_schema()
    role = "node_" + uuid.uuid4().hex[:10]
    admin = open_queue(pg_schema_url(schema))
    try:
        migrate_queue(admin)
        create_node_role(admin, role, None)
        node_url = pg_schema_url(schema, PG_URL.replace("postgres@", f"{role}@", 1))
        node = NodeKeys.generate()
        data = tmp_path / "node"
        ids = fill_outbox(data, node, 5)
        as_node = open_queue(node_url)
        report = sync_outbox(outbox_for(data), as_node, {node.fingerprint: node.public_key_bytes})
        assert report.accounts == 5 and report.receipts_logged is None
        again = fill_outbox(data, node, 1)
        assert sync_outbox(outbox_for(data), as_node, {}).accounts == 1  # conflicts ignored too
        for statement in (
            "SELECT id FROM accounts",
            "UPDATE accounts SET status = 'closed'",
            "DELETE FROM accounts",
            "SELECT * FROM audit_log",
            "UPDATE accounts SET receipt_logged = true",
        ):
            with (
                pytest.raises(ProgrammingError, match="permission denied"),
                as_node.begin() as conn,
            ):
                conn.execute(text(statement))
        assert queue_state(pg_schema_url(schema)) == (sorted(ids + again), 3, sorted(ids + again))
        # A withdrawal sent by the node's role: hidden once a reviewer's command examined
        # it (hashing its secret), applied by reviewer rights.
        request_withdrawal(data, node, "CODE1")
        report = sync_outbox(outbox_for(data), as_node, {})
        assert (report.withdrawals, report.withdrawals_applied) == (1, None)
        as_node.dispose()
        reviewer_side = Queue(open_queue(pg_schema_url(schema)))
        reviewer_side.examine_requests()
        assert ids[1] not in {i.account_id for i in reviewer_side.list_accounts(limit=None)}
        assert reviewer_side.reconcile() == (0, 1)
        assert reviewer_side.item(ids[1]).withdrawn_at is not None
        reviewer_side.close()
    finally:
        admin.dispose()
        drop_schema(schema)
        cleanup = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with cleanup.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        cleanup.dispose()


def test_nothing_is_lost_when_the_node_runs_concurrently(tmp_path: Path, queue_url: str) -> None:
    """Accounts sealed while a sync runs are either in this run or the next, never lost."""
    node = NodeKeys.generate()
    data = tmp_path / "node"
    first = fill_outbox(data, node, 6)

    def more(batch: int) -> None:
        if batch == 1:
            first.extend(fill_outbox(data, node, 3, files_every=0))

    sync_outbox(outbox_for(data), open_queue(queue_url), {}, batch_size=4, between_commits=more)
    sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert queue_state(queue_url)[0] == sorted(first)
    assert os.listdir(data / FILES_DIR) == []


@pytest.mark.slow
def arrived(queue_file: Path) -> int:
    """Accounts in the queue file so far (0 while the watcher is still creating it)."""
    try:
        return len(queue_state(str(queue_file))[0])
    except sqlalchemy.exc.OperationalError:
        return 0


def test_sync_watch_keeps_moving_new_accounts(tmp_path: Path) -> None:
    """`attest sync --watch` as a process: accounts sealed later arrive without a rerun."""
    data = tmp_path / "node"
    data.mkdir()
    node = NodeKeys.load_or_create(data / "node.key")
    first = fill_outbox(data, node, 2)
    queue_file = tmp_path / "queue.db"
    env = {**os.environ, "ATTEST_DATA_DIR": str(data), "ATTEST_QUEUE_URL": str(queue_file)}
    attest = str(Path(sys.executable).with_name("attest"))
    watcher = subprocess.Popen(
        [attest, "sync", "--watch", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while arrived(queue_file) < 2:
            assert time.monotonic() < deadline, "the first accounts never arrived"
            time.sleep(0.2)
        later = fill_outbox(data, node, 3, files_every=0)
        while arrived(queue_file) < 5:
            assert time.monotonic() < deadline, "accounts sealed later never arrived"
            time.sleep(0.2)
        assert watcher.poll() is None  # still watching
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=20)
    assert queue_state(str(queue_file))[0] == sorted(first + later)
