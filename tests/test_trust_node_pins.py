"""Issue 13, item 1: a node key is pinned only if it hashes to the fingerprint asked for.

The attack: someone who can write the queue's `nodes` table (the node's role early on, a
field kit, a reviewer's role by delete + insert) puts their own key under the real node's
fingerprint; `attest keys trust-node FP` then pinned their key, and their forged accounts
showed "signed by pinned node".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from bot.cli_queue import queue, trust_node
from storage.crypto import NodeKeys
from storage.errors import StorageError
from storage.queue.admin import migrate_queue, open_queue
from storage.queue.node_pins import NodePins
from storage.queue.tables import accounts, nodes
from storage.sync import insert_accounts
from tests.queue_support import (
    BACKENDS,
    PG_URL,
    fresh_queue_url,
    make_account,
    pg_role,
    put_accounts,
    reviewer,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def queue_url(backend: str, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(backend, tmp_path)


@pytest.fixture
def pg_queue_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url("postgres", tmp_path)


def _plant(url: str, fingerprint: str, key: bytes) -> None:
    engine = open_queue(url)
    with engine.begin() as conn:
        conn.execute(insert(nodes).values(fingerprint=fingerprint, public_key=key, first_seen=NOW))
    engine.dispose()


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return {"ATTEST_QUEUE_URL": url, "ATTEST_TRUSTED_NODES": str(tmp_path / "pins.json")}


def test_a_key_planted_under_the_real_fingerprint_is_never_pinned(
    backend: str, queue_url: str, tmp_path: Path
) -> None:
    real, attacker = NodeKeys.generate(), NodeKeys.generate()
    if backend == "postgres":
        # The node's role tries to plant it: the queue itself refuses the row.
        with pg_role(queue_url, "node") as as_node, pytest.raises(IntegrityError):
            _plant(as_node, real.fingerprint, attacker.public_key_bytes)
        engine = open_queue(queue_url)
        with engine.connect() as conn:
            assert conn.execute(select(nodes)).all() == []
        engine.dispose()
        return
    _plant(queue_url, real.fingerprint, attacker.public_key_bytes)
    env = _env(queue_url, tmp_path)
    result = CliRunner().invoke(trust_node, [real.fingerprint], env=env)
    assert result.exit_code == 1
    assert "different key" in result.output and "Nothing was pinned" in result.output
    assert NodePins(tmp_path / "pins.json").load() == {}


def test_trust_node_wants_the_whole_fingerprint(queue_url: str, tmp_path: Path) -> None:
    node = NodeKeys.generate()
    put_accounts(queue_url, node, [make_account(node, [reviewer("a")])])
    env = _env(queue_url, tmp_path)
    for partial in (node.fingerprint[:8], node.fingerprint[:31]):
        refused = CliRunner().invoke(trust_node, [partial], env=env)
        assert refused.exit_code == 1 and "whole fingerprint" in refused.output
    refused = CliRunner().invoke(trust_node, [node.fingerprint + "0"], env=env)
    assert refused.exit_code == 1 and "too long" in refused.output
    assert NodePins(tmp_path / "pins.json").load() == {}
    spaced = " ".join(node.fingerprint[i : i + 4] for i in range(0, 32, 4))
    pinned = CliRunner().invoke(trust_node, [spaced], env=env)
    assert pinned.exit_code == 0, pinned.output
    assert NodePins(tmp_path / "pins.json").load() == {node.fingerprint: node.public_key_bytes}


def test_sync_refuses_a_queue_that_holds_another_key_for_its_fingerprint(tmp_path: Path) -> None:
    url = str(tmp_path / "q.db")
    engine = open_queue(url)
    migrate_queue(engine)
    engine.dispose()
    real, attacker = NodeKeys.generate(), NodeKeys.generate()
    _plant(url, real.fingerprint, attacker.public_key_bytes)
    engine = open_queue(url)
    with pytest.raises(StorageError, match="planted"), engine.begin() as conn:
        insert_accounts(
            conn,
            [make_account(real, [reviewer("a")])],
            NOW,
            {real.fingerprint: real.public_key_bytes},
        )
    with engine.connect() as conn:  # nothing of the batch went in
        assert conn.execute(select(accounts.c.id)).all() == []
    engine.dispose()


def test_sync_refuses_a_node_key_that_does_not_hash_to_its_fingerprint(queue_url: str) -> None:
    real, attacker = NodeKeys.generate(), NodeKeys.generate()
    engine = open_queue(queue_url)
    with pytest.raises(StorageError, match="planted"), engine.begin() as conn:
        insert_accounts(conn, [], NOW, {real.fingerprint: attacker.public_key_bytes})
    engine.dispose()


def _kit(tmp_path: Path, node: NodeKeys, planted: bytes | None) -> str:
    kit = str(tmp_path / "kit.db")
    engine = open_queue(kit)
    migrate_queue(engine)
    engine.dispose()
    put_accounts(kit, node, [make_account(node, [reviewer("a")])])
    if planted is not None:
        engine = open_queue(kit)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE nodes SET public_key = :k WHERE fingerprint = :f"),
                {"k": planted, "f": node.fingerprint},
            )
        engine.dispose()
    return kit


def test_a_field_kit_carrying_a_planted_node_key_is_refused_loudly(
    queue_url: str, tmp_path: Path
) -> None:
    real, attacker = NodeKeys.generate(), NodeKeys.generate()
    kit = _kit(tmp_path, real, attacker.public_key_bytes)
    result = CliRunner().invoke(queue, ["import", kit], env={"ATTEST_QUEUE_URL": queue_url})
    assert result.exit_code == 1
    assert "planted" in result.output and "Traceback" not in result.output
    engine = open_queue(queue_url)
    with engine.connect() as conn:
        assert conn.execute(select(nodes)).all() == []
        assert conn.execute(select(accounts.c.id)).all() == []
    engine.dispose()


def test_a_field_kit_whose_node_key_conflicts_with_the_queue_is_refused(tmp_path: Path) -> None:
    # A SQLite main queue: whoever holds its file could have written the planted row.
    url = str(tmp_path / "main.db")
    engine = open_queue(url)
    migrate_queue(engine)
    engine.dispose()
    real, attacker = NodeKeys.generate(), NodeKeys.generate()
    _plant(url, real.fingerprint, attacker.public_key_bytes)
    kit = _kit(tmp_path, real, None)
    result = CliRunner().invoke(queue, ["import", kit], env={"ATTEST_QUEUE_URL": url})
    assert result.exit_code == 1 and "planted" in result.output
    engine = open_queue(url)
    with engine.connect() as conn:
        assert conn.execute(select(accounts.c.id)).all() == []
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="ATTEST_TEST_DATABASE_URL is not set")
def test_the_reviewer_role_may_only_read_node_keys(pg_queue_url: str) -> None:
    queue_url = pg_queue_url
    node = NodeKeys.generate()
    put_accounts(queue_url, node, [make_account(node, [reviewer("a")])])
    with pg_role(queue_url, "reviewer") as as_reviewer:
        engine = open_queue(as_reviewer)
        with engine.connect() as conn:
            assert conn.execute(select(nodes.c.fingerprint)).scalars().all() == [node.fingerprint]
        for statement in (
            "DELETE FROM nodes",
            "UPDATE nodes SET public_key = public_key",
            "INSERT INTO nodes (fingerprint, public_key, first_seen) VALUES ('x', '\\x00', now())",
        ):
            with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as conn:
                conn.execute(text(statement))
        engine.dispose()


# -- issue: a pinned node's row replaced later ------------------------------------------

REPLACED_WARNING = "no longer matches the key you pinned"


def test_a_pinned_nodes_row_replaced_later_is_told_on_every_reading_command(
    tmp_path: Path,
) -> None:
    """The attack: after a reviewer pinned node N, someone who can write the queue file
    (a field kit on the way, a copy on a shared drive) replaces the key in N's row. The
    pin still holds (what the new key signs is refused), but nobody was told. Every command
    that reads the queue now warns, naming the pinned fingerprint and the one the queue's
    key really hashes to (never trusting the fingerprint column), with what to do; the
    fast read-only listing says it too and still loads neither SQLAlchemy nor cryptography.
    """
    import base64
    import json
    import os
    import subprocess
    import sys

    from bot.cli import main
    from storage.crypto import fingerprint_of
    from tests.queue_support import PASSPHRASE, save_reviewer
    from tests.test_fast_start import FORBIDDEN, LOADED

    url = next(fresh_queue_url("sqlite", tmp_path))
    real, attacker = NodeKeys.generate(), NodeKeys.generate()
    item = make_account(real, [reviewer("a")])
    put_accounts(url, real, [item])
    env = {
        "ATTEST_DATA_DIR": str(tmp_path / "data"),
        "ATTEST_QUEUE_URL": url,
        "ATTEST_REVIEWER_KEY": str(save_reviewer(tmp_path / "reviewer.key")),
        "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
    }
    assert (
        CliRunner().invoke(main, ["keys", "trust-node", real.fingerprint], env=env).exit_code == 0
    )
    intact = CliRunner().invoke(main, ["review", "list"], env=env)
    assert intact.exit_code == 0 and REPLACED_WARNING not in intact.output

    planted = attacker.public_key_bytes
    engine = open_queue(url)
    with engine.begin() as conn:
        conn.execute(
            nodes.update().where(nodes.c.fingerprint == real.fingerprint).values(public_key=planted)
        )
    engine.dispose()

    def told(output: str) -> str:
        text = " ".join(output.split())
        assert REPLACED_WARNING in text, output
        assert real.fingerprint in text and fingerprint_of(planted) in text, text
        assert "attest keys node" in text and "administrator" in text, text
        for secret in (planted, real.public_key_bytes):
            assert base64.b64encode(secret).decode() not in output
            assert secret.hex() not in output
        return text

    for command in (
        ["review", "list"],
        ["review", "list", "--json"],
        ["review", "show", item.sealed.account_id],
        ["review", "audit", "verify"],
    ):
        result = CliRunner().invoke(main, command, env=env)
        told(result.output)
    # The pin is unchanged: the real node's account still opens, the planted key is not pinned.
    assert NodePins(tmp_path / "data" / "trusted-nodes.json").load() == {
        real.fingerprint: real.public_key_bytes
    }

    # The fast listing (read-only sqlite3) tells it too, without SQLAlchemy or cryptography.
    done = subprocess.run(
        [sys.executable, "-c", LOADED],
        env={**os.environ, **env, "ATTEST_REVIEWER_PASSPHRASE": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    told(done.stderr)
    modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert sorted(m for m in modules if m.split(".")[0] in FORBIDDEN) == []


def test_a_mistyped_key_file_is_named_not_taken_for_a_fingerprint(tmp_path: Path) -> None:
    """The mistake: `attest keys trust-node node-key.txt` with the file's name mistyped was
    read as a fingerprint and answered "Give the node's whole fingerprint", which sends the
    operator the wrong way. A path that is not there is named; nothing is pinned or made."""
    url = tmp_path / "queue.db"
    env = _env(str(url), tmp_path)
    for typed in (str(tmp_path / "node-key.txt"), "node.pub", "~/keys/node.txt"):
        result = CliRunner().invoke(trust_node, [typed], env=env)
        assert result.exit_code == 1, result.output
        said = " ".join(result.output.split())
        assert "There is no file" in said and "whole fingerprint" not in said.split(":")[0], said
        assert str(Path(typed).expanduser()) in said, said
    assert not (tmp_path / "pins.json").exists() and not url.exists()
