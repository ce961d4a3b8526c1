"""Claims: ten reviewers at once never get the same account, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage.crypto import NodeKeys
from storage.queue.admin import open_queue
from storage.queue.audit import verify_chain
from storage.queue.store import HeldByAnother, NotHeld, Queue
from tests.queue_support import BACKENDS, T0, fresh_queue_url, put_many

REVIEWERS = 10
ROUNDS = 5


@pytest.fixture(params=BACKENDS)
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(request.param, tmp_path)


def _one_round(queues: list[Queue], *, locking: bool) -> list[str | None]:
    """REVIEWERS threads, each on its own engine and connection, claiming at once."""
    start = threading.Barrier(REVIEWERS)
    # Without locking, a second barrier between read and write lets every reviewer read
    # before any writes: the race the lock exists to prevent, made certain.
    read_done = threading.Barrier(REVIEWERS)
    got: list[str | None] = [None] * REVIEWERS
    errors: list[BaseException] = []

    def claim(i: int) -> None:
        try:
            start.wait(timeout=30)
            got[i] = queues[i].claim_next(
                f"reviewer{i}", locking=locking, between=lambda: read_done.wait(timeout=30)
            )
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(REVIEWERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return got


def _race(url: str, *, locking: bool) -> list[list[str | None]]:
    queues = [Queue(open_queue(url)) for _ in range(REVIEWERS)]
    try:
        return [_one_round(queues, locking=locking) for _ in range(ROUNDS)]
    finally:
        for queue in queues:
            queue.close()


def test_ten_reviewers_never_get_the_same_account(queue_url: str) -> None:
    put_many(queue_url, NodeKeys.generate(), REVIEWERS * ROUNDS + 5)
    rounds = _race(queue_url, locking=True)
    claimed = [account for got in rounds for account in got]
    assert None not in claimed
    assert len(set(claimed)) == len(claimed), "an account was handed to two reviewers"
    queue = Queue(open_queue(queue_url))
    held = {
        item.account_id: item.assignee
        for item in queue.list_accounts(status="in-review", limit=None)
    }
    for got in rounds:
        for i, account in enumerate(got):
            assert held[account] == f"reviewer{i}"
    # Fifty claims appended their audit entries concurrently: the chain is still whole.
    with queue.engine.connect() as conn:
        report = verify_chain(conn)
    assert report.ok and report.entries == REVIEWERS * ROUNDS
    queue.close()


def test_the_same_race_without_locking_hands_out_duplicates(queue_url: str) -> None:
    """Proof that the test above would catch a missing lock."""
    put_many(queue_url, NodeKeys.generate(), REVIEWERS * ROUNDS + 5)
    rounds = _race(queue_url, locking=False)
    duplicated = [n for got in rounds for n in Counter(got).values() if n > 1]
    assert duplicated, "the naive claim should have handed one account to several reviewers"


def test_claims_take_urgent_first_then_oldest(queue_url: str) -> None:
    node = NodeKeys.generate()
    ids = put_many(queue_url, node, 3)
    queue = Queue(open_queue(queue_url))
    with queue.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE accounts SET urgent = true WHERE id = '{ids[2]}'")
    assert [queue.claim_next("r") for _ in range(4)] == [ids[2], ids[0], ids[1], None]
    queue.close()


def test_lease_expires_and_release_gives_back(queue_url: str) -> None:
    node = NodeKeys.generate()
    (only,) = put_many(queue_url, node, 1)
    now = [T0]
    queue = Queue(open_queue(queue_url), clock=lambda: now[0])
    assert queue.claim_next("alice") == only
    assert queue.claim_next("bob") is None
    with pytest.raises(HeldByAnother):
        queue.triage(only, "bob", status="closed")
    with pytest.raises(NotHeld):
        queue.release(only, "bob")
    now[0] = T0 + timedelta(minutes=31)
    assert queue.claim_next("bob") == only
    queue.release(only, "bob")
    item = queue.item(only)
    assert (item.status, item.assignee) == ("new", None)
    queue.close()
