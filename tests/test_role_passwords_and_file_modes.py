"""Issue 13, item 6: role passwords never in statement text; reviewer files owner-only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, event, text

from bot.cli_queue import queue
from storage.crypto import NodeKeys
from storage.queue.admin import migrate_queue, open_queue, scram_verifier
from storage.queue.audit import ChainReader
from storage.queue.node_pins import NodePins
from storage.queue.witness import Witness
from tests.queue_support import PG_URL, create_schema, drop_schema, pg_schema_url


def test_the_scram_verifier_answers_rfc_7677s_exchange() -> None:
    """RFC 7677, section 3: user "user", password "pencil"; a server holding only our
    verifier accepts the client's proof and signs back exactly as the RFC shows."""
    verifier = scram_verifier("pencil", salt=base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ=="))
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    assert method == "SCRAM-SHA-256" and iterations_salt.startswith("4096:")
    auth_message = (
        b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
        b"i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    )
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    signature = hmac.digest(stored_key, auth_message, "sha256")
    client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    server_signature = hmac.digest(server_key, auth_message, "sha256")
    assert base64.b64encode(server_signature) == b"6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert scram_verifier("pencil") != scram_verifier("pencil")  # a fresh salt each time


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every statement any engine sends while the test runs (what a server log could keep)."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
def test_role_passwords_travel_as_scram_verifiers_only(statements: list[str]) -> None:
    assert PG_URL
    schema = create_schema()
    node_role, reviewer_role = ("n_" + uuid.uuid4().hex[:10]), ("r_" + uuid.uuid4().hex[:10])
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        env = {
            "ATTEST_QUEUE_URL": pg_schema_url(schema),
            "ATTEST_NODE_ROLE_PASSWORD": "n0de-pa55'word",
            "ATTEST_REVIEWER_ROLE_PASSWORD": "rev1ewer-pa55word",
        }
        args = ["init", "--node-role", node_role, "--reviewer-role", reviewer_role]
        for _ in range(2):  # CREATE ROLE, then ALTER ROLE
            result = CliRunner().invoke(queue, args, env=env)
            assert result.exit_code == 0, result.output
        sent = "\n".join(statements)
        assert "ROLE" in sent and "SCRAM-SHA-256$4096:" in sent
        assert "pa55" not in sent and "pa55" not in result.output
        with admin.connect() as conn:
            stored = conn.execute(
                text("SELECT rolpassword FROM pg_authid WHERE rolname IN (:a, :b)"),
                {"a": node_role, "b": reviewer_role},
            ).scalars()
            assert [s.startswith("SCRAM-SHA-256$4096:") for s in stored] == [True, True]
    finally:
        drop_schema(schema)
        with admin.begin() as conn:
            for role in (node_role, reviewer_role):
                conn.exec_driver_sql(f"DROP OWNED BY {role}")
                conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_trusted_nodes_file_is_owner_only_even_if_it_was_not(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        pins = NodePins(tmp_path / "trusted-nodes.json")
        pins.pin(NodeKeys.generate().public_key_bytes)
        assert _mode(pins.path) == 0o600
        pins.path.chmod(0o644)  # as older versions left it
        pins.pin(NodeKeys.generate().public_key_bytes)
        assert _mode(pins.path) == 0o600 and len(pins.load()) == 2
    finally:
        os.umask(old_umask)


def test_the_audit_witness_file_is_owner_only(tmp_path: Path) -> None:
    url = str(tmp_path / "q.db")
    engine = open_queue(url)
    queue_id = migrate_queue(engine)
    old_umask = os.umask(0o022)
    try:
        witness = Witness(tmp_path / "audit-witness.json")
        with engine.connect() as conn:
            assert witness.advance(ChainReader(conn), queue_id, url)
        assert _mode(witness.path) == 0o600
        assert witness.seen(queue_id) is not None
    finally:
        os.umask(old_umask)
        engine.dispose()
