"""Withdrawal in the queue: body, files, tags and notes deleted; a tombstone and an audit entry kept."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.crypto import NodeKeys
from storage.db import insert_ignore
from storage.queue.admin import open_queue
from storage.queue.audit import verify_chain
from storage.queue.store import AccountWithdrawn, Queue
from storage.queue.tables import (
    account_files,
    account_notes,
    account_tags,
    accounts,
    audit_log,
    withdrawals,
)
from storage.sync import insert_accounts
from tests.queue_support import BACKENDS, T0, fresh_queue_url, make_account, put_accounts, reviewer


@pytest.fixture(params=BACKENDS)
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(request.param, tmp_path)


def test_withdrawal_leaves_only_a_tombstone(queue_url: str) -> None:
    node = NodeKeys.generate()
    kept = make_account(node, [reviewer("a")], reference="KEEP-1")
    gone = make_account(node, [reviewer("a")], reference="ABCD-2345", attachments=[b"voice" * 100])
    put_accounts(queue_url, node, [kept, gone])
    queue = Queue(open_queue(queue_url))
    account = gone.sealed.account_id
    queue.triage(account, "r1", add_tags=["detention"], note=lambda note_id: b"sealed note")

    with queue.engine.begin() as conn:
        # As sync delivers it: the secret of the code the person typed, spaces and case aside.
        insert_ignore(
            conn,
            withdrawals,
            [{"secret": node.withdrawal_secret("abcd 2345"), "requested_at": T0}],
        )
    # Hidden once examined (the first step of every reviewer command), before it is applied.
    queue.examine_requests()
    assert [i.account_id for i in queue.list_accounts()] == [kept.sealed.account_id]
    with pytest.raises(AccountWithdrawn):
        queue.get(account)

    assert queue.reconcile() == (0, 1)
    with queue.engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == account)).one()
        assert row.sealed is None and row.flow is None and row.scopes is None
        assert row.withdrawn_at is not None and row.received_at is not None
        for table in (account_files, account_tags, account_notes):
            count = conn.execute(
                select(func.count()).select_from(table).where(table.c.account_id == account)
            )
            assert count.scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(account_files)).scalar_one() == 0
        entry = conn.execute(
            select(audit_log).where(
                audit_log.c.account_id == account, audit_log.c.action == "withdrawn"
            )
        ).one()
        assert json.loads(entry.detail) == {"exported_before": 0}
    assert queue.item(account).withdrawn_at is not None
    assert queue.reconcile() == (0, 0)  # applying again changes nothing
    assert queue.claim_next("r2") == kept.sealed.account_id
    assert queue.claim_next("r3") is None
    queue.close()


def test_reviewers_reconciling_at_once_log_each_receipt_and_withdrawal_once(queue_url: str) -> None:
    node = NodeKeys.generate()
    items = [make_account(node, [reviewer("a")], reference=f"REF{i}") for i in range(40)]
    engine = open_queue(queue_url)
    with engine.begin() as conn:
        insert_accounts(conn, items, T0, {})
        tags = [
            {"secret": node.withdrawal_secret(f"REF{i}"), "requested_at": T0, "batch": f"b{i}"}
            for i in range(0, 40, 4)
        ]
        insert_ignore(conn, withdrawals, tags)
    engine.dispose()
    queues = [Queue(open_queue(queue_url)) for _ in range(8)]
    start = threading.Barrier(len(queues))
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def reconcile(queue: Queue) -> None:
        try:
            start.wait(timeout=30)
            results.append(queue.reconcile())
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=reconcile, args=(q,)) for q in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sum(r[0] for r in results) == 40 and sum(r[1] for r in results) == 10
    with queues[0].engine.connect() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.account_id)).all()
        assert verify_chain(conn).ok
    assert sorted(Counter(a for a, _ in actions).items()) == [("received", 40), ("withdrawn", 10)]
    assert len(set(actions)) == 50
    for queue in queues:
        queue.close()
