"""Merging a field kit's queue file into the main queue: idempotent, like sync.

A kit is a SQLite queue that `attest sync` filled where there was no connection. Its
accounts (with their original receipt times), files, node keys and withdrawal requests
are inserted with ON CONFLICT DO NOTHING, so importing the same file twice, or two kits
holding the same account, changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from storage.audit import verify_chain
from storage.db import read_connection
from storage.queue_tables import NODE_ACCOUNT_COLUMNS, account_files, accounts, nodes, withdrawals
from storage.sync import insert_ignore


def import_queue_file(
    source: Engine,
    target: Engine,
    *,
    batch_size: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Merge a field kit's queue into `target`, idempotently; (accounts, withdrawals) read.

    Accounts keep their original receipt time; tombstones stay tombstones. Reviewer
    fields of the kit are not carried over: a kit only carries accounts.
    """
    with read_connection(source) as src:
        total = int(src.execute(select(func.count()).select_from(accounts)).scalar_one())
        known = {r.fingerprint: bytes(r.public_key) for r in src.execute(select(nodes))}
        with target.begin() as dst:
            insert_ignore(
                dst,
                nodes,
                [
                    {"fingerprint": fp, "public_key": pub, "first_seen": datetime.now(UTC)}
                    for fp, pub in known.items()
                ],
            )
        done = 0
        last_id = ""
        while True:
            rows = src.execute(
                select(accounts)
                .where(accounts.c.id > last_id)
                .order_by(accounts.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            ids = [r.id for r in rows]
            file_rows = [
                dict(r._mapping)
                for r in src.execute(
                    select(account_files).where(account_files.c.account_id.in_(ids))
                )
            ]
            with target.begin() as dst:
                insert_ignore(dst, accounts, [_carried(r) for r in rows])
                insert_ignore(dst, account_files, file_rows)
            done += len(rows)
            last_id = ids[-1]
            if progress is not None:
                progress(done, total)
        requests = [
            {"tag": r.tag, "requested_at": r.requested_at} for r in src.execute(select(withdrawals))
        ]
    with target.begin() as dst:
        insert_ignore(dst, withdrawals, requests)
    return done, len(requests)


def _carried(row: Any) -> dict[str, Any]:
    """The node's columns of a kit row. A kit tombstone comes without its body, and the
    kit's withdrawal request (imported too) makes it a tombstone here, with its audit entry."""
    return {name: getattr(row, name) for name in NODE_ACCOUNT_COLUMNS}


def kit_log_intact(source: Engine) -> bool:
    """Whether the kit's own audit chain verifies (a damaged one suggests changes in transit)."""
    with read_connection(source) as conn:
        return verify_chain(conn).ok
