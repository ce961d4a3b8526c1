"""`attest queue init|import` and `attest keys trust-node` from the command line."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from bot.cli_queue import queue, trust_node
from storage.crypto import NodeKeys
from storage.queue.admin import migrate_queue, open_queue
from storage.queue.node_pins import NodePins
from tests.queue_support import (
    PG_URL,
    create_schema,
    drop_schema,
    make_account,
    pg_schema_url,
    put_accounts,
    reviewer,
)


def test_init_creates_a_sqlite_queue_and_is_safe_to_repeat(tmp_path: Path) -> None:
    env = {"ATTEST_QUEUE_URL": str(tmp_path / "q.db")}
    first = CliRunner().invoke(queue, ["init"], env=env)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(queue, ["init"], env=env)
    assert again.exit_code == 0
    assert first.output.split("(queue ")[1] == again.output.split("(queue ")[1]  # same queue id
    refused = CliRunner().invoke(queue, ["init", "--node-role", "attest_node"], env=env)
    assert refused.exit_code == 1 and "only on PostgreSQL" in refused.output


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
def test_init_on_postgresql_creates_the_insert_only_node_role() -> None:
    assert PG_URL
    schema = create_schema()
    role = "node_" + uuid.uuid4().hex[:10]
    try:
        env = {
            "ATTEST_QUEUE_URL": pg_schema_url(schema),
            "ATTEST_NODE_ROLE_PASSWORD": "it's pa55word",
        }
        result = CliRunner().invoke(queue, ["init", "--node-role", role], env=env)
        assert result.exit_code == 0, result.output
        assert "GRANT INSERT (id, received_at" in result.output
        assert "pa55word" not in result.output
        admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.connect() as conn:
            granted = conn.execute(
                text(
                    "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                    "WHERE grantee = :r ORDER BY table_name"
                ),
                {"r": role},
            ).all()
        admin.dispose()
        assert {(t, p) for t, p in granted} == {
            ("account_files", "INSERT"),
            ("nodes", "INSERT"),
            ("node_rotations", "INSERT"),  # issue 15: rotation certificates
        }  # accounts and withdrawals (issue 13): column-level INSERT only, not listed here
    finally:
        drop_schema(schema)
        admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_import_merges_a_field_kit_once(tmp_path: Path) -> None:
    node = NodeKeys.generate()
    kit = str(tmp_path / "kit.db")
    engine = open_queue(kit)
    migrate_queue(engine)
    engine.dispose()
    put_accounts(kit, node, [make_account(node, [reviewer("a")]) for _ in range(3)])
    env = {"ATTEST_QUEUE_URL": str(tmp_path / "main.db")}
    assert CliRunner().invoke(queue, ["init"], env=env).exit_code == 0
    first = CliRunner().invoke(queue, ["import", kit], env=env)
    assert first.exit_code == 0, first.output
    assert "3 new" in first.output
    second = CliRunner().invoke(queue, ["import", kit], env=env)
    assert "0 new" in second.output
    assert "WARNING" not in first.output + second.output
    engine = open_queue(kit)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'admin' WHERE seq = 1"))
    engine.dispose()
    damaged = CliRunner().invoke(queue, ["import", kit], env=env)
    assert damaged.exit_code == 0 and "audit log is damaged" in damaged.output


def test_trust_node_from_a_key_file_or_a_known_fingerprint(tmp_path: Path) -> None:
    node = NodeKeys.generate()
    url = str(tmp_path / "q.db")
    engine = open_queue(url)
    migrate_queue(engine)
    engine.dispose()
    pins_file = tmp_path / "pins.json"
    env = {"ATTEST_QUEUE_URL": url, "ATTEST_TRUSTED_NODES": str(pins_file)}
    unknown = CliRunner().invoke(trust_node, [node.fingerprint], env=env)
    assert unknown.exit_code == 1 and "has synced to this queue yet" in unknown.output
    key_file = tmp_path / "node.pub"
    import base64

    key_file.write_text(
        "Node public signing key (Ed25519, base64): "
        + base64.b64encode(node.public_key_bytes).decode()
        + "\n"
    )
    pinned = CliRunner().invoke(trust_node, [str(key_file)], env=env)
    assert pinned.exit_code == 0, pinned.output
    assert NodePins(pins_file).load() == {node.fingerprint: node.public_key_bytes}

    other = NodeKeys.generate()
    put_accounts(url, other, [make_account(other, [reviewer("a")])])
    # A prefix is no longer enough (issue 13): the whole fingerprint, and the key must hash to it.
    by_prefix = CliRunner().invoke(trust_node, [other.fingerprint[:10]], env=env)
    assert by_prefix.exit_code == 1 and "whole fingerprint" in by_prefix.output
    by_fingerprint = CliRunner().invoke(trust_node, [other.fingerprint.upper()], env=env)
    assert by_fingerprint.exit_code == 0, by_fingerprint.output
    assert set(NodePins(pins_file).load()) == {node.fingerprint, other.fingerprint}

    garbage = tmp_path / "garbage.txt"
    garbage.write_text("hello")
    bad = CliRunner().invoke(trust_node, [str(garbage)], env=env)
    assert bad.exit_code == 1 and "not a node public key" in bad.output


def test_an_unreachable_queue_is_a_clear_error(tmp_path: Path) -> None:
    from review.cli import review

    env = {
        "ATTEST_QUEUE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "ATTEST_DATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(review, ["list"], env=env)
    assert result.exit_code == 1
    assert "refused the connection" in result.output  # issue 16: the problem is named


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
def test_sync_into_a_queue_never_initialised_says_so(tmp_path: Path) -> None:
    from storage.db import create_store_engine
    from storage.intake import migrations
    from storage.queue.admin import QueueSetupError
    from storage.sync import Outbox, sync_outbox

    schema = create_schema()
    try:
        intake = create_store_engine(tmp_path / "intake.db")
        migrations.upgrade(intake)
        with pytest.raises(QueueSetupError, match="attest queue init"):
            sync_outbox(Outbox(intake, tmp_path / "files"), open_queue(pg_schema_url(schema)), {})
    finally:
        drop_schema(schema)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
def test_the_reviewer_role_reviews_but_cannot_rewrite_the_audit_log(tmp_path: Path) -> None:
    from sqlalchemy.exc import ProgrammingError

    from review.cli import review
    from tests.queue_support import PASSPHRASE, save_reviewer

    assert PG_URL
    schema = create_schema()
    role = "reviewer_" + uuid.uuid4().hex[:10]
    try:
        admin_env = {"ATTEST_QUEUE_URL": pg_schema_url(schema)}
        assert (
            CliRunner().invoke(queue, ["init", "--reviewer-role", role], env=admin_env).exit_code
            == 0
        )
        node = NodeKeys.generate()
        items = [make_account(node, [reviewer("a")]) for _ in range(2)]
        engine = open_queue(pg_schema_url(schema))
        from storage.sync import insert_accounts

        with engine.begin() as conn:
            insert_accounts(
                conn, items, datetime.now(UTC), {node.fingerprint: node.public_key_bytes}
            )
        engine.dispose()
        role_url = pg_schema_url(schema, PG_URL.replace("postgres@", f"{role}@", 1))
        env = {
            "ATTEST_QUEUE_URL": role_url,
            "ATTEST_DATA_DIR": str(tmp_path),
            "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        assert CliRunner().invoke(trust_node, [node.fingerprint], env=env).exit_code == 0
        for args in (
            ["list"],
            ["claim"],
            ["show", items[0].sealed.account_id],
            ["triage", items[1].sealed.account_id, "--note", "call back"],
            ["export", "--internal"],
            ["audit", "verify"],
        ):
            result = CliRunner().invoke(review, args, env=env)
            assert result.exit_code == 0, (args, result.output)
        as_reviewer = open_queue(role_url)
        for statement in (
            "UPDATE audit_log SET actor = 'admin'",
            "DELETE FROM audit_log",
            "DROP TABLE audit_log",
        ):
            with pytest.raises(ProgrammingError), as_reviewer.begin() as conn:
                conn.execute(text(statement))
        as_reviewer.dispose()
    finally:
        drop_schema(schema)
        admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()
