"""A command that answers at once (issue 16): what `review list` loads and reads.

No timings here (they live in bench/cli.py): these tests pin the causes. A listing on a
SQLite queue with nothing to write first imports no SQLAlchemy (it reads the queue
read-only with sqlite3, `storage.queue.readonly`), Alembic, psycopg, Telegram,
cryptography or babel (catalogs ship compiled); the checks run before
every reviewer command and the "N of M" count read indexes, not the accounts table; the
schema version is one query; a large sync refreshes PostgreSQL's statistics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from storage.crypto import NodeKeys
from storage.queue.admin import QUEUE_HEAD, open_queue
from storage.queue.store import Queue
from tests.queue_support import (
    PG_URL,
    fresh_queue_url,
    make_account,
    put_accounts,
    put_many,
    reviewer,
    save_reviewer,
)

FORBIDDEN = ("sqlalchemy", "alembic", "psycopg", "telegram", "cryptography", "babel")
LOADED = """
import json, sys
from bot.cli import main
try:
    main(["review", "list"], standalone_mode=False)
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def test_review_list_on_sqlite_loads_no_sqlalchemy_alembic_psycopg_telegram_crypto_or_babel(
    tmp_path: Path,
) -> None:
    url = next(fresh_queue_url("sqlite", tmp_path))
    node = NodeKeys.generate()
    put_accounts(url, node, [make_account(node, [reviewer("a")], urgent=True)])
    env = {
        **os.environ,
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
    }
    env.pop("ATTEST_REVIEWER_PASSPHRASE", None)
    done = subprocess.run(
        [sys.executable, "-c", LOADED], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "URGENT" in done.stdout
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert sorted(m for m in modules if m.split(".")[0] in FORBIDDEN) == []


def _statements(queue: Queue, action: Any) -> list[str]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(queue.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(queue.engine, "before_cursor_execute", record)
    plans = []
    with queue.engine.connect() as conn:
        for statement, params in seen:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            plans.append(" / ".join(str(r[-1]) for r in rows))
    return plans


def test_the_checks_before_every_command_and_the_count_read_no_accounts_table(
    tmp_path: Path,
) -> None:
    url = next(fresh_queue_url("sqlite", tmp_path))
    node = NodeKeys.generate()
    ids = put_many(url, node, 3000)
    queue = Queue(open_queue(url))
    with queue.engine.begin() as conn:
        # A withdrawal already applied (its account a tombstone), as in a queue in use.
        conn.execute(
            text(
                "UPDATE accounts SET withdrawn_at = received_at, sealed = NULL, "
                "withdrawal_hash = 'h' WHERE id = :id"
            ),
            {"id": ids[0]},
        )
        conn.execute(
            text(
                "INSERT INTO withdrawals (secret, requested_at, secret_hash, status) "
                "VALUES ('s', '2026-11-01 09:00:00', 'h', 'accepted')"
            )
        )
        conn.exec_driver_sql("ANALYZE")
    checks = _statements(queue, queue.reconcile_needed)
    counts = _statements(queue, lambda: queue.count_accounts(include_closed=False))
    assert checks and counts
    for plan in checks + counts:
        scans_table = "SCAN accounts" in plan and "INDEX" not in plan
        assert not scans_table, plan
    assert queue.count_accounts(include_closed=True) == 2999
    queue.close()


def test_the_schema_version_is_one_query_and_names_an_old_queue(tmp_path: Path) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from storage.queue.admin import MIGRATIONS
    from tests.test_operator_errors import attest

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == QUEUE_HEAD
    url = next(fresh_queue_url("sqlite", tmp_path))
    engine = open_queue(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version_queue SET version_num = '0003'")
    engine.dispose()
    env = {"ATTEST_DATA_DIR": str(tmp_path / "data"), "ATTEST_QUEUE_URL": url}
    result = attest("review", "list", env=env)
    assert result.exit_code == 1
    assert "made by another version of Attest" in result.output


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
def test_a_large_sync_refreshes_the_statistics_on_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.sync
    from storage.sync import sync_outbox
    from tests.test_sync import fill_outbox, outbox_for

    monkeypatch.setattr(storage.sync, "ANALYZE_AFTER", 2)
    data = tmp_path / "data"
    data.mkdir()
    node = NodeKeys.load_or_create(data / "node.key")
    fill_outbox(data, node, 3, files_every=0)
    for url in fresh_queue_url("postgres", tmp_path):
        engine = open_queue(url)
        sync_outbox(outbox_for(data), engine, {node.fingerprint: node.public_key_bytes})
        with engine.connect() as conn:
            analyzed = conn.execute(
                text(
                    "SELECT last_analyze FROM pg_stat_user_tables "
                    "WHERE relname = 'accounts' AND schemaname = current_schema()"
                )
            ).scalar()
        engine.dispose()
        assert analyzed is not None


LISTINGS = [
    (),
    ("--all",),
    ("--json",),
    ("--json", "--all", "--limit", "0"),
    ("--status", "closed"),
    ("--urgent",),
    ("--mine",),
    ("--tag", "medical"),
    ("--tag", "nothing"),
    ("--language", "en"),
    ("--since", "2026-11-01", "--until", "2026-11-01"),
    ("--since", "2027-01-01"),
    ("--mode", "documenter"),
    ("--limit", "1"),
]


def test_the_read_only_listing_prints_what_the_full_path_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    import storage.queue.readonly
    from bot.cli import main

    url = next(fresh_queue_url("sqlite", tmp_path))
    node, other = NodeKeys.generate(), NodeKeys.generate()
    put_accounts(url, node, [make_account(node, [reviewer("a")], urgent=u) for u in (1, 0, 0, 0)])
    put_accounts(url, other, [make_account(other, [reviewer("a")])])  # a node not pinned
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": "correct horse battery staple",
    }

    def run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("keys", "trust-node", node.fingerprint)
    run("keys", "untrust-node", node.fingerprint, "--after", "2026-11-01T00:00")
    claimed = run("review", "claim").strip()
    run("review", "triage", claimed, "--add-tag", "medical")
    ids = [i["id"] for i in json.loads(run("review", "list", "--json"))]
    run("review", "triage", ids[-1], "--status", "closed")
    engine = open_queue(url)
    with engine.begin() as conn:  # a burst held for an administrator: listed, and told
        conn.exec_driver_sql(
            "INSERT INTO withdrawals (secret, requested_at, batch, status) "
            "VALUES ('s1', '2026-11-02 09:00:00.000000', 'b', 'held')"
        )
    engine.dispose()

    served: list[bool] = []
    real = storage.queue.readonly.open_read_only

    def watched(*args: Any, **kwargs: Any) -> Any:
        view = real(*args, **kwargs)
        served.append(view is not None)
        return view

    shown = {}
    for args in LISTINGS:
        monkeypatch.setattr(storage.queue.readonly, "open_read_only", watched)
        shown[args] = run("review", "list", *args)
        assert served.pop() is True, args
        monkeypatch.setattr(storage.queue.readonly, "open_read_only", lambda *a, **k: None)
        assert run("review", "list", *args) == shown[args], args
    everything = shown[("--all",)]
    for told in ("are held", "NODE KEY UNTRUSTED AFTER", "UNPINNED NODE", "medical", "closed"):
        assert told in everything
