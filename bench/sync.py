"""Sync throughput against a naive copy, and `review list` latency with 100,000 accounts.

    .venv/bin/python bench/sync.py [--accounts 2000] [--list-size 100000]

For SQLite, and for PostgreSQL when ATTEST_TEST_DATABASE_URL is set (in a schema of its
own, dropped afterwards), it fills a node's outbox with sealed accounts and measures:

    sync    storage.sync.sync_outbox: batches of 200, one queue transaction per batch
            (INSERT ... ON CONFLICT DO NOTHING), then one outbox delete per batch
    naive   the same rows one per transaction: insert into the queue, commit, delete from
            the outbox, commit

both in the same run, on the same machine, from identical copies of the outbox. Then it
fills a queue with `--list-size` accounts (10 % urgent, a tag on 1 %) and times
`Queue.list_accounts` as `attest review list` calls it. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, delete, insert, update

from storage.crypto import (
    NodeKeys,
    SealedAccount,
    generate_reviewer_key,
    seal_account,
    withdrawal_hash,
)
from storage.db import checkpoint_wal, create_store_engine
from storage.intake import migrations
from storage.intake.rows import outbox_row
from storage.intake.tables import outbox
from storage.queue.admin import migrate_queue, open_queue
from storage.queue.rows import queue_row
from storage.queue.store import Queue
from storage.queue.tables import account_tags, accounts
from storage.sync import Outbox, sync_outbox

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PG_URL = os.environ.get("ATTEST_TEST_DATABASE_URL")


def body(i: int) -> dict[str, Any]:
    """A body of realistic size: thirty answers, a few free texts of a paragraph."""
    text_answer = "They came at night and took my brother; nobody told us where. " * 4
    return {
        "flow": "survivor",
        "consent": {"scopes": {"archive": "yes", "reports": "yes", "mechanisms": "anonymised"}},
        "answers": [
            {
                "step": f"step-{n}",
                "question": "In your own words, what happened?",
                "value": text_answer if n % 5 == 0 else "yes",
            }
            for n in range(30)
        ],
        "n": i,
    }


def make_template(directory: Path, count: int) -> tuple[Path, NodeKeys]:
    """An intake database whose outbox holds `count` sealed accounts (hybrid suite, 2 reviewers)."""
    node = NodeKeys.generate()
    reviewers = [generate_reviewer_key("hybrid").public, generate_reviewer_key("hybrid").public]
    path = directory / "template-intake.db"
    engine = create_store_engine(path)
    migrations.upgrade(engine)
    rows = []
    for i in range(count):
        metadata = {
            "flow": "survivor",
            "language": "en",
            "channel": "telegram",
            "urgent": i % 10 == 0,
            "scopes": {"archive": "yes", "reports": "yes", "mechanisms": "anonymised"},
            "submitted_at": (T0 + timedelta(seconds=i)).isoformat(),
            "withdrawal_hash": withdrawal_hash(node.withdrawal_secret(secrets.token_hex(6))),
        }
        sealed = seal_account(body(i), metadata, reviewers, node)
        rows.append(outbox_row(sealed, T0 + timedelta(seconds=i)))
    with engine.begin() as conn:
        conn.execute(insert(outbox), rows)
    checkpoint_wal(engine)
    engine.dispose()
    return path, node


def fresh_outbox(template: Path, directory: Path) -> Outbox:
    target = directory / f"intake-{uuid.uuid4().hex[:6]}.db"
    shutil.copy(template, target)
    return Outbox(create_store_engine(target), directory / "files")


def naive_copy(source: Outbox, queue: Engine) -> int:
    """One row per transaction: what sync would be without batching."""
    count = 0
    for item in source.take_accounts(10**9):
        with queue.begin() as conn:
            conn.execute(insert(accounts).values(**queue_row(item.sealed, datetime.now(UTC))))
        with source.engine.begin() as conn:
            conn.execute(delete(outbox).where(outbox.c.account_id == item.sealed.account_id))
        count += 1
    return count


def timed(action: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    done = action()
    return done, time.perf_counter() - start


def measure_sync(
    name: str, new_queue: Callable[[], Engine], template: Path, node: NodeKeys, work: Path
) -> dict[str, float]:
    queue = new_queue()
    source = fresh_outbox(template, work)
    done, seconds = timed(
        lambda: sync_outbox(source, queue, {node.fingerprint: node.public_key_bytes}).accounts
    )
    fast = done / seconds
    queue.dispose()
    queue = new_queue()
    source = fresh_outbox(template, work)
    done_naive, seconds_naive = timed(lambda: naive_copy(source, queue))
    slow = done_naive / seconds_naive
    queue.dispose()
    print(
        f"{name}: sync {fast:,.0f} accounts/s, naive one-row-per-transaction {slow:,.0f}/s ({fast / slow:.1f}x)"
    )
    return {
        "sync_per_s": round(fast, 1),
        "naive_per_s": round(slow, 1),
        "ratio": round(fast / slow, 2),
    }


def fill_queue(queue: Engine, size: int) -> None:
    """`size` accounts: real sealed JSON (one account copied under fresh ids), 10 % urgent."""
    node = NodeKeys.generate()
    reviewer = generate_reviewer_key("hybrid").public
    template = seal_account(
        body(0), {"flow": "survivor", "urgent": False, "scopes": {}}, [reviewer], node
    )
    document = template.to_dict()
    batch: list[dict[str, Any]] = []
    tags: list[dict[str, str]] = []
    with queue.begin() as conn:
        for i in range(size):
            document["account_id"] = secrets.token_hex(16)
            row = queue_row(SealedAccount.from_dict(document), T0 + timedelta(seconds=i))
            row["urgent"] = i % 10 == 0
            row["receipt_logged"] = True
            batch.append(row)
            if i % 100 == 0:
                tags.append({"account_id": row["id"], "tag": "detention"})
            if len(batch) == 5000:
                conn.execute(insert(accounts), batch)
                batch.clear()
        if batch:
            conn.execute(insert(accounts), batch)
        conn.execute(insert(account_tags), tags)
    with queue.begin() as conn:
        # Fresh statistics, as a long-running queue would have them.
        conn.exec_driver_sql("ANALYZE")


def measure_list(name: str, queue: Engine, size: int) -> dict[str, float]:
    fill_queue(queue, size)
    q = Queue(queue)
    results: dict[str, float] = {}
    for label, kwargs in {
        "default": {},
        "status_new": {"status": "new"},
        "urgent": {"urgent_only": True},
        "tag": {"tag": "detention"},
    }.items():
        samples = []
        for _ in range(21):
            start = time.perf_counter()
            shown = q.list_accounts(**kwargs)  # type: ignore[arg-type]
            samples.append(time.perf_counter() - start)
            assert shown
        results[label] = round(statistics.median(samples) * 1000, 2)
    # A claim when nine in ten accounts are done: it must not walk past the closed ones.
    with queue.begin() as conn:
        conn.execute(
            update(accounts)
            .where(accounts.c.received_at < T0 + timedelta(seconds=size * 9 // 10))
            .values(status="closed")
        )
        conn.exec_driver_sql("ANALYZE")
    claims = []
    for i in range(21):
        start = time.perf_counter()
        assert q.claim_next(f"reviewer{i}") is not None
        claims.append(time.perf_counter() - start)
    results["claim_90pct_closed"] = round(statistics.median(claims) * 1000, 2)
    print(
        f"{name}: review list / claim with {size:,} accounts, median ms: "
        + ", ".join(f"{k} {v}" for k, v in results.items())
    )
    return results


def pg_queue_factory(schemas: list[str]) -> Callable[[], Engine]:
    assert PG_URL
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))

    def new_queue() -> Engine:
        schema = "bench_" + uuid.uuid4().hex[:10]
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        schemas.append(schema)
        joiner = "&" if "?" in PG_URL else "?"  # type: ignore[operator]
        engine = open_queue(f"{PG_URL}{joiner}options=-csearch_path%3D{schema}")
        migrate_queue(engine)
        return engine

    return new_queue


def drop_schemas(schemas: list[str]) -> None:
    assert PG_URL
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        for schema in schemas:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--list-size", type=int, default=100_000)
    args = parser.parse_args()
    summary: dict[str, Any] = {"accounts": args.accounts, "list_size": args.list_size}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        template, node = make_template(work, args.accounts)

        def sqlite_queue() -> Engine:
            engine = open_queue(str(work / f"queue-{uuid.uuid4().hex[:6]}.db"))
            migrate_queue(engine)
            return engine

        summary["sqlite_sync"] = measure_sync("SQLite", sqlite_queue, template, node, work)
        summary["sqlite_list_ms"] = measure_list("SQLite", sqlite_queue(), args.list_size)
        if PG_URL:
            schemas: list[str] = []
            try:
                new_pg = pg_queue_factory(schemas)
                summary["postgres_sync"] = measure_sync("PostgreSQL", new_pg, template, node, work)
                summary["postgres_list_ms"] = measure_list("PostgreSQL", new_pg(), args.list_size)
            finally:
                drop_schemas(schemas)
        else:
            print("PostgreSQL: skipped (set ATTEST_TEST_DATABASE_URL)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
