"""Issue 13, item 2: reading the queue gives no way to withdraw; bursts wait for an administrator.

The attacks replayed: whoever read the queue (a leak, a backup) copied each account's
withdrawal tag into withdrawal requests — through a field kit holding only `withdrawals`
rows, or as the node's role — and `queue import` or the next reviewer command erased
those accounts without a word. Now an account carries only the hash of its withdrawal
secret, a request must carry the secret itself (derived on the node from the person's
reference code), and more than `withdrawal_burst` requests arriving at once are held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import ProgrammingError

from bot.cli_queue import queue
from flows.types import RecordWithdrawal, Turn
from storage.crypto import NodeKeys
from storage.intake.store import open_intake_store
from storage.queue.admin import migrate_queue, open_queue
from storage.queue.store import Queue
from storage.queue.tables import accounts
from storage.sync import sync_outbox
from tests.queue_support import (
    BACKENDS,
    PG_URL,
    fresh_queue_url,
    make_account,
    pg_role,
    put_accounts,
    reviewer,
)
from tests.test_sync import fill_outbox, outbox_for

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def queue_url(backend: str, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(backend, tmp_path)


def _withdrawal_columns(url: str) -> tuple[str, str]:
    """(the accounts column naming the withdrawal, the withdrawals column a request fills)."""
    engine = open_queue(url)
    found = inspect(engine)
    on_account = next(c["name"] for c in found.get_columns("accounts") if "withdrawal" in c["name"])
    on_request = found.get_pk_constraint("withdrawals")["constrained_columns"][0]
    engine.dispose()
    return on_account, on_request


def _copy_into_requests(source_url: str, target_url: str, ids: list[str]) -> None:
    """What a reader of the queue can do: copy what the accounts show into requests."""
    on_account, on_request = _withdrawal_columns(source_url)
    engine = open_queue(source_url)
    with engine.connect() as conn:
        values = (
            conn.execute(
                select(text(on_account)).select_from(accounts).where(accounts.c.id.in_(ids))
            )
            .scalars()
            .all()
        )
    engine.dispose()
    engine = open_queue(target_url)
    with engine.begin() as conn:
        for value in values:
            conn.execute(
                text(f"INSERT INTO withdrawals ({on_request}, requested_at) VALUES (:v, :t)"),
                {"v": value, "t": NOW},
            )
    engine.dispose()


def _live(url: str) -> set[str]:
    queue_ = Queue(open_queue(url))
    queue_.reconcile()
    live = {i.account_id for i in queue_.list_accounts(limit=None)}
    queue_.close()
    return live


def test_copying_what_the_queue_shows_into_requests_erases_nothing(
    backend: str, queue_url: str
) -> None:
    node = NodeKeys.generate()
    items = [make_account(node, [reviewer("a")]) for _ in range(3)]
    put_accounts(queue_url, node, items)
    ids = [i.sealed.account_id for i in items]
    if backend == "postgres":
        with pg_role(queue_url, "node") as as_node:  # the node's role inserts the copies
            _copy_into_requests(queue_url, as_node, ids[:2])
    else:
        _copy_into_requests(queue_url, queue_url, ids[:2])
    assert _live(queue_url) == set(ids)


def test_a_field_kit_of_copied_requests_erases_nothing_on_import(
    queue_url: str, tmp_path: Path
) -> None:
    node = NodeKeys.generate()
    items = [make_account(node, [reviewer("a")]) for _ in range(3)]
    put_accounts(queue_url, node, items)
    ids = [i.sealed.account_id for i in items]
    kit = str(tmp_path / "kit.db")
    engine = open_queue(kit)
    migrate_queue(engine)
    engine.dispose()
    _copy_into_requests(queue_url, kit, ids[:2])  # the kit holds only two requests
    result = CliRunner().invoke(queue, ["import", kit], env={"ATTEST_QUEUE_URL": queue_url})
    assert result.exit_code == 0, result.output
    assert "0 withdrawn" in result.output
    assert _live(queue_url) == set(ids)


def test_the_queue_keeps_no_withdrawal_secret_in_the_clear(queue_url: str) -> None:
    node = NodeKeys.generate()
    item = make_account(node, [reviewer("a")], reference="K7QM-4TXA-9P")
    put_accounts(queue_url, node, [item])
    secret = node.withdrawal_secret("K7QM-4TXA-9P")
    engine = open_queue(queue_url)
    with engine.connect() as conn:
        row = conn.execute(select(accounts)).one()
    engine.dispose()
    assert all(secret not in str(value) for value in row)


def _withdraw(data: Path, node: NodeKeys, codes: list[str]) -> None:
    """/withdraw CODE by different people, as the intake store records them."""

    async def run() -> None:
        store = await open_intake_store(None, node, [reviewer("a").public], data_dir=data)
        for n, code in enumerate(codes):
            await store.commit_turn(
                f"person-w{n}",
                Turn(session=None, messages=(), effects=(RecordWithdrawal(code),)),
                update_key=None,
                channel="console",
                now=NOW,
            )
        await store.close()

    asyncio.run(run())


def _synced(tmp_path: Path, url: str, count: int) -> tuple[NodeKeys, Path, list[str]]:
    node = NodeKeys.generate()
    data = tmp_path / "node"
    ids = fill_outbox(data, node, count, files_every=0)
    sync_outbox(outbox_for(data), open_queue(url), {node.fingerprint: node.public_key_bytes})
    return node, data, ids


def test_the_persons_code_withdraws_at_once_up_to_the_burst_limit(
    queue_url: str, tmp_path: Path
) -> None:
    node, data, ids = _synced(tmp_path, queue_url, 7)
    _withdraw(data, node, [f"CODE{i}" for i in range(5)])
    report = sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert report.withdrawals == 5
    assert _live(queue_url) == set(ids[5:])


def test_a_burst_is_held_until_an_administrator_decides(queue_url: str, tmp_path: Path) -> None:
    node, data, ids = _synced(tmp_path, queue_url, 8)
    env = {"ATTEST_QUEUE_URL": queue_url}
    _withdraw(data, node, [f"CODE{i}" for i in range(6)])
    sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert _live(queue_url) == set(ids)  # nothing erased, nothing hidden

    listed = CliRunner().invoke(queue, ["withdrawals", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "6 requests" in listed.output and "6 accounts" in listed.output
    assert all(account_id in listed.output for account_id in ids[:6])
    batch = listed.output.split("Batch ")[1].split(":")[0]

    wrong = CliRunner().invoke(queue, ["withdrawals", "confirm", "nope"], env=env)
    assert wrong.exit_code == 1 and "No held withdrawals" in wrong.output
    confirmed = CliRunner().invoke(queue, ["withdrawals", "confirm", batch], env=env)
    assert confirmed.exit_code == 0, confirmed.output
    assert "6 accounts withdrawn" in confirmed.output
    assert _live(queue_url) == set(ids[6:])
    empty = CliRunner().invoke(queue, ["withdrawals", "list"], env=env)
    assert "No withdrawal requests are held" in empty.output


def test_a_rejected_burst_erases_nothing_and_a_later_request_still_counts(
    queue_url: str, tmp_path: Path
) -> None:
    node, data, ids = _synced(tmp_path, queue_url, 6)
    env = {"ATTEST_QUEUE_URL": queue_url, "ATTEST_WITHDRAWAL_BURST": "2"}
    _withdraw(data, node, ["CODE0", "CODE1", "CODE2"])
    synced = CliRunner().invoke(queue, ["withdrawals", "list"], env=env)
    assert "No withdrawal requests are held" in synced.output
    sync_outbox(outbox_for(data), open_queue(queue_url), {}, burst=2)
    listed = CliRunner().invoke(queue, ["withdrawals", "list"], env=env)
    batch = listed.output.split("Batch ")[1].split(":")[0]
    rejected = CliRunner().invoke(queue, ["withdrawals", "reject", batch], env=env)
    assert rejected.exit_code == 0, rejected.output
    assert "no account was erased" in rejected.output
    assert _live(queue_url) == set(ids)
    # The person asks again, alone: immediate and final.
    _withdraw(data, node, ["CODE1"])
    sync_outbox(outbox_for(data), open_queue(queue_url), {}, burst=2)
    assert _live(queue_url) == set(ids) - {ids[1]}


def test_a_held_burst_is_recorded_in_the_audit_log(queue_url: str, tmp_path: Path) -> None:
    node, data, _ids = _synced(tmp_path, queue_url, 3)
    _withdraw(data, node, ["CODE0", "CODE1"])
    sync_outbox(outbox_for(data), open_queue(queue_url), {}, burst=1)
    engine = open_queue(queue_url)
    with engine.connect() as conn:
        actions = conn.execute(text("SELECT action, detail FROM audit_log ORDER BY seq")).all()
    engine.dispose()
    held = [detail for action, detail in actions if action == "withdrawals-held"]
    assert len(held) == 1 and '"requests":2' in held[0]


@pytest.fixture
def pg_queue_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url("postgres", tmp_path)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("column", ["status", "secret_hash"])
def test_the_node_role_cannot_decide_a_request(column: str, pg_queue_url: str) -> None:
    with pg_role(pg_queue_url, "node") as as_node:
        engine = open_queue(as_node)
        with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO withdrawals (secret, requested_at, {column}) "
                    "VALUES ('s', now(), 'accepted')"
                )
            )
        engine.dispose()


def test_a_request_whose_stored_hash_was_forged_erases_nothing(tmp_path: Path) -> None:
    url = str(tmp_path / "q.db")  # a file: whoever holds it can write any column
    engine = open_queue(url)
    migrate_queue(engine)
    engine.dispose()
    node = NodeKeys.generate()
    item = make_account(node, [reviewer("a")])
    put_accounts(url, node, [item])
    engine = open_queue(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO withdrawals (secret, requested_at, status, secret_hash) "
                "SELECT 'made up', :t, 'accepted', withdrawal_hash FROM accounts"
            ),
            {"t": NOW},
        )
    engine.dispose()
    assert _live(url) == {item.sealed.account_id}
    assert _live(url) == {item.sealed.account_id}  # and stays so


def test_a_batch_id_chosen_by_the_sender_cannot_drive_the_terminal(queue_url: str) -> None:
    node = NodeKeys.generate()
    put_accounts(queue_url, node, [make_account(node, [reviewer("a")])])
    engine = open_queue(queue_url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO withdrawals (secret, requested_at, batch) VALUES (:s, :t, :b)"),
            [{"s": f"s{i}", "t": NOW, "b": "\x1b[2J\u202e"} for i in range(6)],
        )
    engine.dispose()
    listed = CliRunner().invoke(queue, ["withdrawals", "list"], env={"ATTEST_QUEUE_URL": queue_url})
    assert listed.exit_code == 0, listed.output
    assert "\x1b" not in listed.output and "\u202e" not in listed.output
    # The queue gave the batch an id of its own, which an administrator can type.
    batch = listed.output.split("Batch ")[1].split(":")[0]
    rejected = CliRunner().invoke(
        queue, ["withdrawals", "reject", batch], env={"ATTEST_QUEUE_URL": queue_url}
    )
    assert rejected.exit_code == 0, rejected.output


def test_the_desks_listing_hides_withdrawn_accounts_but_not_a_held_burst(
    queue_url: str, tmp_path: Path
) -> None:
    """The desk lists from its own index: it must agree with the queue on what is gone."""
    from storage.queue.listing import Filters, list_page

    node, data, ids = _synced(tmp_path, queue_url, 9)
    _withdraw(data, node, [f"CODE{i}" for i in range(6)])
    sync_outbox(outbox_for(data), open_queue(queue_url), {})
    held = Queue.open(queue_url)
    held.reconcile()
    held.close()
    engine = open_queue(queue_url)
    try:
        listed = {i.account_id for i in list_page(engine, Filters()).items}
        assert listed == set(ids)  # a held burst erases and hides nothing

        # A request accepted but not yet turned into a tombstone is hidden at once.
        _withdraw(data, node, ["CODE7"])
        sync_outbox(outbox_for(data), engine, {})
        secret_hash = _hash_of(engine, ids[7])
        with engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE withdrawals SET status = 'accepted', secret_hash = :h "
                    "WHERE status IS NULL"
                ),
                {"h": secret_hash},
            )
        page = list_page(engine, Filters())
        assert {i.account_id for i in page.items} == set(ids) - {ids[7]}
        assert page.total == 8
    finally:
        engine.dispose()


def _hash_of(engine: Any, account_id: str) -> str:
    with engine.connect() as conn:
        found = conn.execute(
            select(accounts.c.withdrawal_hash).where(accounts.c.id == account_id)
        ).scalar_one()
    return str(found)


def test_requests_waiting_for_an_account_that_has_not_arrived_are_listed(
    queue_url: str, tmp_path: Path
) -> None:
    """A request that matched nothing waits in the queue; the team must be able to see it
    (to answer the person who writes to ask), by when it was made, never by its hash."""
    node, data, ids = _synced(tmp_path, queue_url, 3)
    _withdraw(data, node, ["CODE0", "NOT-SENT-1", "NOT-SENT-2"])
    sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert _live(queue_url) == set(ids[1:])  # the matching one applied at once
    queue_ = Queue(open_queue(queue_url))
    queue_.reconcile()
    assert queue_.waiting_requests() == [NOW, NOW]

    env = {"ATTEST_QUEUE_URL": queue_url}
    listed = CliRunner().invoke(queue, ["withdrawals", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "No withdrawal requests are held" in listed.output
    assert "2 withdrawal requests are waiting for an account" in listed.output
    assert listed.output.count(NOW.isoformat(timespec="minutes")) == 2
    engine = open_queue(queue_url)
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT secret, secret_hash FROM withdrawals")).all()
    for secret, secret_hash in kept:
        assert secret not in listed.output and secret_hash not in listed.output
        assert secret_hash[:8] not in listed.output
