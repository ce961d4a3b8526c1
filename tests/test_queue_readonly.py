"""The read-only look at a SQLite queue that `review list` takes (issue 16: start-up).

`storage.queue.readonly` answers a listing with the standard library's sqlite3, so the
command never imports SQLAlchemy. It is a second implementation of the same query, so the
first test fills random queues and compares both, row for row, for random filters. The
others pin when it may serve at all: only a SQLite file at the queue's newest revision
with nothing to write first; anything else is left to the full path.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from storage.crypto import NodeKeys
from storage.db import database_url
from storage.queue.admin import migrate_queue, open_queue, sqlite_path
from storage.queue.node_pins import NodePins
from storage.queue.place import display_url, local_sqlite_file
from storage.queue.readonly import ReadOnlyQueue, open_read_only
from storage.queue.schema import QUEUE_HEAD, STATUSES
from storage.queue.store import Queue
from tests.queue_support import make_account, put_accounts, put_many, reviewer

T = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def stored(value: datetime) -> str:
    """A time as SQLAlchemy stores it in a SQLite queue."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# -- the same listing as the SQLAlchemy queue, for any queue and any filters ---------

TIMES = [stored(T + timedelta(hours=h)) for h in (0, 0, 5, 30, 24 * 40)]
TIMES += ["1990-06-01 12:00:00.000000", "2100-01-01 00:00:00.250000"]
# What a node or a damaged row may leave in a time column: not every value is a time.
ODD_TIMES = ["2026-11-01T09:00:00+00:00", "yesterday", "0000-01-01 00:00:00", "99999-01-01"]
time_values = st.sampled_from(TIMES + ODD_TIMES)
FILTER_DAYS = [T - timedelta(days=1), T, T + timedelta(hours=5), T + timedelta(days=2)]


def sometimes(*values: Any) -> st.SearchStrategy[Any]:
    """None three times in four: most filters are off, as in use, so that rows match."""
    return st.sampled_from([None] * 3 * len(values) + list(values))


account_rows = st.fixed_dictionaries(
    {
        "received_at": time_values,
        "submitted_at": st.none() | time_values,
        "urgent": st.booleans(),
        "status": st.sampled_from(STATUSES),
        "assignee": st.sampled_from([None, "me", "other"]),
        "lease_until": st.none() | time_values,
        "language": st.sampled_from([None, "en", "ar"]),
        "flow": st.sampled_from([None, "survivor", "documenter"]),
        "channel": st.sampled_from([None, "telegram", "console\nx"]),
        "mode": st.sampled_from([None, "survivor", "documenter"]),
        "documenter": st.sampled_from([None, "doc-1", "doc-2"]),
        "scopes": st.sampled_from([None, '{"archive": "yes"}', "not json", "[1]"]),
        "withdrawal_hash": sometimes("h1", "h2", "h3"),
        "withdrawn_at": sometimes(TIMES[2], "garbage"),
        "sealed": st.sampled_from(["{}", "{}", "{}", None]),
        "node_fingerprint": st.sampled_from([None, "f" * 32, "e" * 32]),
        "tags": st.sets(st.sampled_from(["a", "b", "طبي"]), max_size=2),
    }
)
requests = st.lists(
    st.tuples(
        st.sampled_from(["h1", "h2", "h3", None]), st.sampled_from([None, "accepted", "held"])
    ),
    max_size=4,
)


# Every value each filter of `review list` is tried with (None or False: off).
FILTER_VALUES: dict[str, list[Any]] = {
    "status": list(STATUSES),
    "urgent_only": [True],
    "tag": ["a", "b", "طبي", "zz"],
    "include_closed": [True],
    "assignee": ["me", "other"],
    "since": FILTER_DAYS,
    "until": FILTER_DAYS,
    "language": ["en", "ar", "fa"],
    "mode": ["survivor", "documenter"],
    "documenter": ["doc-1"],
}
OFF = {name: False if name in ("urgent_only", "include_closed") else None for name in FILTER_VALUES}
# Each filter alone, then random combinations (most filters off, as in use).
ALONE = [{**OFF, name: value} for name, values in FILTER_VALUES.items() for value in values]
filters = st.fixed_dictionaries(
    {
        name: st.sampled_from([OFF[name]] * 3 * len(values) + values)
        for name, values in FILTER_VALUES.items()
    }
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Queue, Path]]:
    path = tmp_path_factory.mktemp("readonly") / "queue.db"
    engine = open_queue(str(path))
    migrate_queue(engine)
    yield Queue(engine), path
    engine.dispose()


def fill(queue: Queue, rows: list[dict[str, Any]], pending: list[tuple[str | None, Any]]) -> None:
    with queue.engine.begin() as conn:
        for table in ("account_tags", "withdrawals", "accounts"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        for n, row in enumerate(rows):
            values = {k: v for k, v in row.items() if k != "tags"}
            values |= {"id": f"{n:02d}" + "ab" * 15, "receipt_logged": 1}
            values["urgent"] = int(values["urgent"])
            names = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            conn.exec_driver_sql(
                f"INSERT INTO accounts ({names}) VALUES ({marks})", tuple(values.values())
            )
            for tag in row["tags"]:
                conn.exec_driver_sql(
                    "INSERT INTO account_tags (account_id, tag) VALUES (?, ?)", (values["id"], tag)
                )
        for n, (secret_hash, status) in enumerate(pending):
            conn.exec_driver_sql(
                "INSERT INTO withdrawals (secret, requested_at, secret_hash, status) "
                "VALUES (?, ?, ?, ?)",
                (f"secret-{n}", TIMES[0], secret_hash, status),
            )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(account_rows, min_size=3, max_size=20),
    pending=requests,
    mixed=st.lists(filters, min_size=6, max_size=6),
    limit=st.sampled_from([None, 1, 3, 50]),
)
def test_the_read_only_listing_equals_the_queues_row_for_row(
    scratch: tuple[Queue, Path],
    rows: list[dict[str, Any]],
    pending: list[tuple[str | None, Any]],
    mixed: list[dict[str, Any]],
    limit: int | None,
) -> None:
    queue, path = scratch
    fill(queue, rows, pending)
    view = ReadOnlyQueue.open(path)
    try:
        for chosen in [OFF, *ALONE, *mixed]:
            listed = queue.list_accounts(limit=limit, **chosen)
            assert view.list_accounts(limit=limit, **chosen) == listed, chosen
            assert view.count_accounts(**chosen) == queue.count_accounts(**chosen), chosen
    finally:
        view.close()


# -- when it serves, and when the full path must -------------------------------------


@pytest.fixture
def queue_file(tmp_path: Path) -> Path:
    return migrated(tmp_path / "queue.db", 3)


def migrated(path: Path, accounts: int) -> Path:
    """A queue file at `path` with `accounts` accounts whose receipts are logged."""
    engine = open_queue(str(path))
    migrate_queue(engine)
    engine.dispose()
    if accounts:
        put_many(str(path), NodeKeys.generate(), accounts)
    return path


def opened(path: Path | str, **kwargs: Any) -> bool:
    view = open_read_only(str(path), **kwargs)
    if view is None:
        return False
    view.close()
    return True


def sql(path: Path, statement: str, **params: object) -> None:
    engine = open_queue(str(path))
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def test_a_queue_with_nothing_to_write_is_only_read(queue_file: Path) -> None:
    before = queue_file.read_bytes()
    statements: list[str] = []
    view = ReadOnlyQueue.open(queue_file, trace=statements.append)
    try:
        assert view.at_newest_revision() and view.nothing_to_write("me")
        assert len(view.list_accounts(limit=None, tag="a")) == view.count_accounts() - 3 == 0
        assert view.head()[0] == 0 and view.hash_at(1) is None and view.held_count() == 0
        assert view.rotations() == [] and len(view.queue_id) == 32
    finally:
        view.close()
    verbs = {s.split()[0].upper() for s in statements}
    assert verbs <= {"SELECT", "BEGIN", "COMMIT"}, verbs
    assert queue_file.read_bytes() == before


def test_a_wrong_path_creates_nothing(tmp_path: Path) -> None:
    assert not opened(tmp_path / "usb" / "queue.db")
    assert not opened(tmp_path / "queue.db")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:5432/nothing",
        "mysql://host/db",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///QUEUE?mode=ro",
    ],
)
def test_other_places_are_left_to_the_full_path(queue_file: Path, url: str) -> None:
    assert not opened(url.replace("QUEUE", str(queue_file)))


def test_what_is_not_a_queue_at_its_newest_revision_is_left_to_the_full_path(
    tmp_path: Path, queue_file: Path
) -> None:
    holiday = tmp_path / "holiday.jpg"
    holiday.write_bytes(b"\xff\xd8\xff" + bytes(5000))
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert not opened(holiday) and not opened(empty)
    assert opened(queue_file)
    sql(queue_file, "UPDATE alembic_version_queue SET version_num = '0003'")
    assert not opened(queue_file)
    sql(queue_file, "UPDATE alembic_version_queue SET version_num = :v", v=QUEUE_HEAD)
    sql(queue_file, "DELETE FROM queue_info")
    assert not opened(queue_file)


def test_receipts_to_log_are_left_to_the_full_path(queue_file: Path) -> None:
    sql(queue_file, "UPDATE accounts SET receipt_logged = false WHERE rowid = 1")
    assert not opened(queue_file)


def test_withdrawals_to_examine_or_apply_are_left_to_the_full_path(queue_file: Path) -> None:
    sql(queue_file, "UPDATE accounts SET withdrawal_hash = 'h' WHERE rowid = 1")
    sql(queue_file, "INSERT INTO withdrawals (secret, requested_at) VALUES ('s', :t)", t=T)
    assert not opened(queue_file)  # not examined yet
    sql(queue_file, "UPDATE withdrawals SET status = 'held', secret_hash = 'h'")
    view = open_read_only(str(queue_file))
    assert view is not None and view.held_count() == 1  # held: nothing to apply
    view.close()
    sql(queue_file, "UPDATE withdrawals SET status = 'accepted'")
    assert not opened(queue_file)  # accepted, its account not a tombstone yet
    sql(queue_file, "UPDATE accounts SET withdrawn_at = received_at, sealed = NULL WHERE rowid = 1")
    assert opened(queue_file)


def test_a_withdrawn_account_its_holder_must_hear_of_is_left_to_the_full_path(
    queue_file: Path,
) -> None:
    sql(
        queue_file,
        "UPDATE accounts SET withdrawn_at = received_at, sealed = NULL, assignee = 'me' "
        "WHERE rowid = 1",
    )
    assert not opened(queue_file, reviewer="me")
    assert opened(queue_file, reviewer="other") and opened(queue_file)


def test_a_rotation_a_pin_would_follow_is_left_to_the_full_path(
    tmp_path: Path, queue_file: Path
) -> None:
    old, new, stranger = (NodeKeys.generate() for _ in range(3))
    pins = NodePins(tmp_path / "trusted-nodes.json")
    sql(
        queue_file,
        "INSERT INTO node_rotations (new_fingerprint, new_key, old_key, rotated_at, signature) "
        "VALUES (:nf, :nk, :ok, '2026-11-01T09:00:00+00:00', :sig)",
        nf=new.fingerprint,
        nk=new.public_key_bytes,
        ok=old.public_key_bytes,
        sig=b"unchecked here",
    )
    assert opened(queue_file, pins=pins)  # the old key is not pinned: nothing to follow
    pins.pin(stranger.public_key_bytes)
    assert opened(queue_file, pins=pins)
    pins.pin(old.public_key_bytes)
    assert not opened(queue_file, pins=pins)  # the full path checks the certificate
    pins.pin(new.public_key_bytes)
    assert opened(queue_file, pins=pins)  # followed already
    document = json.loads(pins.path.read_text())
    del document["nodes"][new.fingerprint]
    document["nodes"][old.fingerprint]["untrusted_after"] = "always"
    pins.path.write_text(json.dumps(document))
    assert opened(queue_file, pins=pins)  # an untrusted key hands nothing over


def test_the_audit_chain_end_is_read_as_the_full_path_reads_it(tmp_path: Path) -> None:
    from storage.db import read_connection
    from storage.queue import audit

    url = str(migrated(tmp_path / "queue.db", 0))
    queue = Queue(open_queue(url))
    view = open_read_only(url)
    assert view is not None
    with read_connection(queue.engine) as conn:
        assert view.head() == audit.head(conn) == (0, audit.GENESIS)
    view.close()
    node = NodeKeys.generate()
    put_accounts(url, node, [make_account(node, [reviewer("a")]) for _ in range(2)])
    view = open_read_only(url)
    assert view is not None
    try:
        with read_connection(queue.engine) as conn:
            assert view.head() == audit.head(conn) and view.head()[0] == 2
            assert view.hash_at(1) == audit.newest(conn, 2)[0].hash
        assert view.hash_at(99) is None
        assert view.queue_id == queue.queue_id
    finally:
        view.close()
        queue.close()


def test_the_checks_and_the_count_read_no_accounts_table(tmp_path: Path) -> None:
    path = migrated(tmp_path / "queue.db", 0)
    ids = put_many(str(path), NodeKeys.generate(), 3000)
    sql(
        path,
        "UPDATE accounts SET withdrawn_at = received_at, sealed = NULL, withdrawal_hash = 'h' "
        "WHERE id = :id",
        id=ids[0],
    )
    sql(
        path,
        "INSERT INTO withdrawals (secret, requested_at, secret_hash, status) "
        "VALUES ('s', :t, 'h', 'accepted')",
        t=T,
    )
    sql(path, "ANALYZE")
    statements: list[str] = []
    view = ReadOnlyQueue.open(path, trace=statements.append)
    assert view.at_newest_revision() and view.nothing_to_write("me")
    assert view.count_accounts(include_closed=False) == 2999
    view.close()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) > 5
    with sqlite3.connect(path) as conn:
        for statement in selects:
            plan = " / ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + statement))
            assert not ("SCAN accounts" in plan and "INDEX" not in plan), plan


# -- where the queue is, named as the full path names it -----------------------------


def sqlalchemy_display_url(url: str) -> str:
    return database_url(url).render_as_string(hide_password=True)


@pytest.mark.parametrize(
    "name", ["queue.db", "with space.db", "per%cent.db", "مریم/queue.db", "a+b#c.db", "q?x.db"]
)
def test_a_queue_file_is_found_and_named_as_sqlalchemy_does(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    for setting in (str(path), f"sqlite:///{path}", f"sqlite+pysqlite:///{path}"):
        assert display_url(setting) == sqlalchemy_display_url(setting)
        if "?" in setting and "://" in setting:
            assert local_sqlite_file(setting) is None  # a query string: SQLAlchemy's to read
        else:
            assert local_sqlite_file(setting) == sqlite_path(setting)
    assert local_sqlite_file("~/queue.db") == Path.home() / "queue.db"
    assert display_url("postgresql://u:secret@h/db") == sqlalchemy_display_url(
        "postgresql://u:secret@h/db"
    )


def test_a_raw_sqlite_error_is_named_as_the_same_error_through_sqlalchemy(tmp_path: Path) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import DBAPIError

    from storage.queue.reach import NOT_A_QUEUE_FILE, NOT_SET_UP, explain

    holiday = tmp_path / "holiday.jpg"
    holiday.write_bytes(b"\xff\xd8\xff" + bytes(5000))
    empty = tmp_path / "empty.db"
    for path, template in ((holiday, NOT_A_QUEUE_FILE), (empty, NOT_SET_UP)):
        with pytest.raises(sqlite3.DatabaseError) as raw:
            sqlite3.connect(path).execute("SELECT id FROM accounts")
        engine = create_engine(f"sqlite:///{path}")
        with pytest.raises(DBAPIError) as wrapped, engine.connect() as conn:
            conn.exec_driver_sql("SELECT id FROM accounts")
        engine.dispose()
        named, through = explain(raw.value), explain(wrapped.value)
        assert named is not None and through is not None
        assert named.template == through.template == template
        assert str(named) == str(through)


def test_requests_waiting_for_an_account_are_counted_as_the_full_path_counts_them(
    queue_file: Path,
) -> None:
    """`review list` on the read-only path tells of them too (the full path's notice)."""
    sql(queue_file, "UPDATE accounts SET withdrawal_hash = 'h' WHERE rowid = 1")
    sql(
        queue_file,
        "INSERT INTO withdrawals (secret, secret_hash, status, requested_at) "
        "VALUES ('s1', 'nothing-here', 'accepted', :t), ('s2', 'h2', 'held', :t)",
        t=T,
    )
    view = open_read_only(str(queue_file))
    assert view is not None
    try:
        assert view.waiting_count() == 1
        assert view.waiting_count() == len(Queue(open_queue(str(queue_file))).waiting_requests())
    finally:
        view.close()
