"""Issue 13, item 2: clear withdrawal tags from before — migrated in place, or refused with a reason.

Before queue revision 0003 an account's signed metadata and its queue row carried the
clear withdrawal tag, and requests carried tags too. The migration hashes the tags the
queue holds; a field kit written in the old format, and an outbox account sealed with a
clear tag, are refused with a message and left where they are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import Engine, MetaData, Table, insert, select

from bot.cli_queue import queue
from storage.crypto import NodeKeys, seal_account, withdrawal_hash
from storage.db import create_store_engine
from storage.intake.outbox import outbox_row
from storage.intake.store import DATABASE_FILE
from storage.intake.tables import outbox
from storage.queue.admin import MIGRATIONS, migrate_queue, open_queue
from storage.queue.rows import queue_row
from storage.queue.store import Queue
from storage.queue.tables import accounts, withdrawals
from storage.sync import OLD_FORMAT_LEFT, sync_outbox
from tests.queue_support import (
    BACKENDS,
    create_schema,
    drop_schema,
    fresh_queue_url,
    make_body,
    pg_schema_url,
    require_backend,
    reviewer,
)
from tests.test_sync import fill_outbox, outbox_for

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for a queue (a SQLite file, or a PostgreSQL schema of its own)."""
    require_backend(str(request.param))
    if request.param == "sqlite":
        yield str(tmp_path / "old.db")
        return
    schema = create_schema()
    try:
        yield pg_schema_url(schema)
    finally:
        drop_schema(schema)


@pytest.fixture(params=BACKENDS)
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(str(request.param), tmp_path)


def _migrate_to(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _old_sealed(node: NodeKeys, code: str) -> object:
    """An account as Attest sealed it before 0003: the clear tag in its signed metadata."""
    metadata = {
        "flow": "survivor",
        "flow_version": "1",
        "language": "en",
        "channel": "console",
        "urgent": False,
        "scopes": {"archive": "yes"},
        "started_at": NOW.isoformat(),
        "submitted_at": (NOW + timedelta(minutes=5)).isoformat(),
        "withdrawal_tag": node.withdrawal_secret(code),
    }
    return seal_account(make_body({"archive": "yes"}), metadata, [reviewer("a").public], node)


def _old_row(node: NodeKeys, code: str) -> dict[str, object]:
    sealed = _old_sealed(node, code)
    row = queue_row(sealed, NOW)  # type: ignore[arg-type]
    del row["withdrawal_hash"]
    return {**row, "withdrawal_tag": node.withdrawal_secret(code), "receipt_logged": True}


def _old_queue(url: str) -> None:
    engine = open_queue(url)
    _migrate_to(engine, "0002")
    engine.dispose()


def test_the_migration_hashes_tags_in_place_and_the_code_still_withdraws(
    unmigrated_url: str,
) -> None:
    url = unmigrated_url
    _old_queue(url)
    node, stranger = NodeKeys.generate(), NodeKeys.generate()
    engine = open_queue(url)
    old = MetaData()
    old_accounts = Table("accounts", old, autoload_with=engine)
    old_withdrawals = Table("withdrawals", old, autoload_with=engine)
    old_nodes = Table("nodes", old, autoload_with=engine)
    kept, gone = _old_row(node, "KEEP-CODE-01"), _old_row(node, "GONE-CODE-02")
    with engine.begin() as conn:
        conn.execute(insert(old_accounts), [kept, gone])
        conn.execute(  # a request that was waiting when the queue was upgraded
            insert(old_withdrawals).values(
                tag=node.withdrawal_secret("GONE-CODE-02"), requested_at=NOW
            )
        )
        conn.execute(  # a planted node row
            insert(old_nodes).values(
                fingerprint=node.fingerprint, public_key=stranger.public_key_bytes, first_seen=NOW
            )
        )
    migrate_queue(engine)
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(accounts))}
        nodes_left = conn.execute(select(old_nodes.c.fingerprint)).all()
    assert nodes_left == []
    kept_secret = node.withdrawal_secret("KEEP-CODE-01")
    assert rows[kept["id"]].withdrawal_hash == withdrawal_hash(kept_secret)  # type: ignore[index]
    queue_ = Queue(engine)
    queue_.reconcile()
    # The request that was waiting may be a copied tag: held for an administrator.
    [held] = queue_.held_batches()
    assert held.account_ids == (gone["id"],) and held.batch.startswith("old-")
    assert {i.account_id for i in queue_.list_accounts()} == {kept["id"], gone["id"]}
    queue_.decide_batch(held.batch, confirm=True)
    queue_.apply_withdrawals()
    assert {i.account_id for i in queue_.list_accounts()} == {kept["id"]}
    # The person's code, typed on the node after the upgrade, still finds the account.
    with engine.begin() as conn:
        conn.execute(insert(withdrawals).values(secret=kept_secret, requested_at=NOW, batch="b1"))
    queue_.reconcile()
    assert queue_.list_accounts() == []
    engine.dispose()


def test_a_field_kit_in_the_old_format_is_refused_and_left_unchanged(
    queue_url: str, tmp_path: Path
) -> None:
    kit = str(tmp_path / "old-kit.db")
    _old_queue(kit)
    node = NodeKeys.generate()
    engine = open_queue(kit)
    old = MetaData()
    old_accounts = Table("accounts", old, autoload_with=engine)
    old_withdrawals = Table("withdrawals", old, autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(insert(old_accounts), [_old_row(node, "ABCD-EFGH-JK")])
        conn.execute(insert(old_withdrawals).values(tag="f" * 64, requested_at=NOW))
        conn.exec_driver_sql(
            "INSERT INTO queue_info (queue_id, created_at) VALUES ('kit', '2026-11-30')"
        )
    engine.dispose()
    before = hashlib.sha256(Path(kit).read_bytes()).hexdigest()
    result = CliRunner().invoke(queue, ["import", kit], env={"ATTEST_QUEUE_URL": queue_url})
    assert result.exit_code == 1
    assert "older version of Attest" in result.output and "Nothing was imported" in result.output
    assert hashlib.sha256(Path(kit).read_bytes()).hexdigest() == before
    target = open_queue(queue_url)
    with target.connect() as conn:
        assert conn.execute(select(accounts.c.id)).all() == []
    target.dispose()


def test_an_outbox_account_with_a_clear_tag_is_refused_and_kept(
    queue_url: str, tmp_path: Path
) -> None:
    node = NodeKeys.generate()
    data = tmp_path / "node"
    ids = fill_outbox(data, node, 3, files_every=0)
    old = _old_sealed(node, "OLDC-ODE0-01")
    intake = create_store_engine(data / DATABASE_FILE)
    with intake.begin() as conn:
        conn.execute(insert(outbox).values(**outbox_row(old, NOW - timedelta(days=1))))  # type: ignore[arg-type]
    intake.dispose()
    report = sync_outbox(
        outbox_for(data),
        open_queue(queue_url),
        {node.fingerprint: node.public_key_bytes},
        batch_size=2,
    )
    assert (report.accounts, report.refused_old_format) == (3, 1)
    assert outbox_for(data).counts()[0] == 1  # kept, encrypted, on the node
    again = sync_outbox(outbox_for(data), open_queue(queue_url), {})
    assert (again.accounts, again.refused_old_format) == (0, 1)
    engine = open_queue(queue_url)
    with engine.connect() as conn:
        stored = sorted(conn.execute(select(accounts.c.id, accounts.c.sealed)).all())
    engine.dispose()
    assert [r.id for r in stored] == sorted(ids)
    assert all("withdrawal_tag" not in json.loads(r.sealed)["metadata"] for r in stored)
    assert "{count}" in OLD_FORMAT_LEFT  # the message the command line prints


def test_an_old_account_sent_knowingly_is_withdrawn_by_the_persons_code(
    queue_url: str, tmp_path: Path
) -> None:
    node = NodeKeys.generate()
    data = tmp_path / "node"
    fill_outbox(data, node, 1, files_every=0)
    old = _old_sealed(node, "OLDC-ODE0-02")
    intake = create_store_engine(data / DATABASE_FILE)
    with intake.begin() as conn:
        conn.execute(insert(outbox).values(**outbox_row(old, NOW)))  # type: ignore[arg-type]
    intake.dispose()
    keys = {node.fingerprint: node.public_key_bytes}
    report = sync_outbox(outbox_for(data), open_queue(queue_url), keys, send_old_format=True)
    assert (report.accounts, report.refused_old_format) == (2, 0)
    engine = open_queue(queue_url)
    with engine.begin() as conn:
        conn.execute(
            insert(withdrawals).values(
                secret=node.withdrawal_secret("oldc ode0 02"), requested_at=NOW, batch="b"
            )
        )
    queue_ = Queue(engine)
    queue_.reconcile()
    assert old.account_id not in {i.account_id for i in queue_.list_accounts()}  # type: ignore[attr-defined]
    assert len(queue_.list_accounts()) == 1
    engine.dispose()


def test_an_old_kit_accepted_knowingly_brings_its_accounts_and_holds_its_requests(
    queue_url: str, tmp_path: Path
) -> None:
    kit = str(tmp_path / "old-kit.db")
    _old_queue(kit)
    node = NodeKeys.generate()
    engine = open_queue(kit)
    old = MetaData()
    old_accounts = Table("accounts", old, autoload_with=engine)
    old_withdrawals = Table("withdrawals", old, autoload_with=engine)
    kept, gone = _old_row(node, "KEPT-CODE-01"), _old_row(node, "GONE-CODE-02")
    with engine.begin() as conn:
        conn.execute(insert(old_accounts), [kept, gone])
        conn.execute(
            insert(old_withdrawals).values(
                tag=node.withdrawal_secret("GONE-CODE-02"), requested_at=NOW
            )
        )
        conn.exec_driver_sql(
            "INSERT INTO queue_info (queue_id, created_at) VALUES ('kit', '2026-11-30')"
        )
    engine.dispose()
    env = {"ATTEST_QUEUE_URL": queue_url}
    result = CliRunner().invoke(queue, ["import", "--accept-old-format", kit], env=env)
    assert result.exit_code == 0, result.output
    assert "2 new, 0 withdrawn" in result.output and "are held" in result.output
    listed = CliRunner().invoke(queue, ["withdrawals", "list"], env=env)
    assert "1 requests" in listed.output and str(gone["id"]) in listed.output
    batch = listed.output.split("Batch ")[1].split(":")[0]
    assert batch.startswith("old-")
    confirmed = CliRunner().invoke(queue, ["withdrawals", "confirm", batch], env=env)
    assert "1 accounts withdrawn" in confirmed.output, confirmed.output
    target = Queue(open_queue(queue_url))
    assert [i.account_id for i in target.list_accounts()] == [kept["id"]]
    # The person's own code still reaches the account that came from the old kit.
    with target.engine.begin() as conn:
        conn.execute(
            insert(withdrawals).values(
                secret=node.withdrawal_secret("KEPT-CODE-01"), requested_at=NOW, batch="b"
            )
        )
    target.reconcile()
    assert target.list_accounts() == []
    target.close()


def test_a_kit_account_with_a_clear_tag_stays_in_the_kit_and_is_named(
    queue_url: str, tmp_path: Path
) -> None:
    kit = str(tmp_path / "kit.db")
    engine = open_queue(kit)
    migrate_queue(engine)
    engine.dispose()
    node = NodeKeys.generate()
    old = _old_sealed(node, "OLDK-ITAC-01")
    engine = open_queue(kit)
    with engine.begin() as conn:
        conn.execute(insert(accounts).values(**queue_row(old, NOW)))  # type: ignore[arg-type]
    engine.dispose()
    result = CliRunner().invoke(queue, ["import", kit], env={"ATTEST_QUEUE_URL": queue_url})
    assert result.exit_code == 0, result.output
    assert "1 accounts in the kit were sealed by an older version" in result.output
    target = open_queue(queue_url)
    with target.connect() as conn:
        assert conn.execute(select(accounts.c.id)).all() == []
    target.dispose()
