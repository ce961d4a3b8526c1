"""Audit entries that cannot be forged (issue 15, item 4), with no witness file at all.

The attacks, each of which `audit verify` accepted before entries were signed:
a deleted entry with every later one renumbered and rehashed; an entry appended with a
valid hash under another reviewer's name, unsigned or signed by the wrong key; an entry
signed by a key nobody pinned. On PostgreSQL a trigger also refuses, at insert time, an
entry that does not follow the head, and an unsigned one from the reviewers' role.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from bot.cli_key_lifecycle import trust_reviewer_command
from bot.cli_queue import trust_node
from review.cli import review
from storage.crypto import FAST_KDF, NodeKeys
from storage.db import insert_ignore
from storage.queue.admin import open_queue
from storage.queue.audit import GENESIS, entry_hash, signed_bytes
from storage.queue.tables import audit_log, withdrawals
from tests.queue_support import (
    BACKENDS,
    PASSPHRASE,
    T0,
    fresh_queue_url,
    make_account,
    pg_role,
    put_accounts,
    reviewer,
    save_reviewer,
)


@dataclass
class Log:
    url: str
    node: NodeKeys
    ids: list[str]
    tmp: Path

    def env(self, name: str = "a") -> dict[str, str]:
        return {
            "ATTEST_DATA_DIR": str(self.tmp / f"data-{name}"),
            "ATTEST_QUEUE_URL": self.url,
            "ATTEST_REVIEWER_KEY": str(self.tmp / name / "reviewer.key"),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }

    def run(self, *args: str, name: str = "a") -> Result:
        return CliRunner().invoke(review, list(args), env=self.env(name))

    def rows(self) -> list[dict[str, object]]:
        engine = open_queue(self.url)
        with engine.connect() as conn:
            found = [dict(r._mapping) for r in conn.execute(select(audit_log).order_by("seq"))]
        engine.dispose()
        return found

    def head(self) -> tuple[int, str]:
        last = self.rows()[-1]
        return int(last["seq"]), str(last["hash"])  # type: ignore[call-overload]

    def append_raw(self, actor: str, signer: object | None, url: str | None = None) -> None:
        """Append an entry with a correct number and hash, signed by `signer` (or not)."""
        seq, prev = self.head()
        at = "2026-12-01T12:00:00.000000+00:00"
        detail = "{}"
        digest = entry_hash(seq + 1, at, actor, "opened", self.ids[0], detail, prev)
        signature = (
            None if signer is None else base64.b64encode(signer.sign(signed_bytes(digest))).decode()  # type: ignore[attr-defined]
        )
        engine = open_queue(url or self.url)
        with engine.begin() as conn:
            conn.execute(
                audit_log.insert().values(
                    seq=seq + 1,
                    at=at,
                    actor=actor,
                    action="opened",
                    account_id=self.ids[0],
                    detail=detail,
                    prev_hash=prev,
                    hash=digest,
                    signature=signature,
                )
            )
        engine.dispose()


def _save(tmp: Path, name: str) -> None:
    folder = tmp / name
    folder.mkdir()
    save_reviewer(folder / "reviewer.key", name)
    reviewer(name).public.save(folder / "reviewer.pub")


@pytest.fixture(params=BACKENDS)
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    yield from signed_log(request.param, tmp_path)


def signed_log(backend: str, tmp_path: Path) -> Iterator[Log]:
    """Reviewers a, b (who pin each other) and c (pinned by nobody), each having opened."""
    for url in fresh_queue_url(backend, tmp_path):
        node = NodeKeys.generate()
        items = [
            make_account(node, [reviewer("a"), reviewer("b")], reference=f"REF-{i}")
            for i in range(3)
        ]
        put_accounts(url, node, items)
        for name in ("a", "b", "c"):
            _save(tmp_path, name)
        found = Log(url, node, [i.sealed.account_id for i in items], tmp_path)
        for name in ("a", "b"):
            result = CliRunner().invoke(trust_node, [node.fingerprint], env=found.env(name))
            assert result.exit_code == 0, result.output
        # a and b pin each other; nobody pins c.
        for who, whom in (("a", "b"), ("b", "a")):
            result = CliRunner().invoke(
                trust_reviewer_command, [str(tmp_path / whom / "reviewer.pub")], env=found.env(who)
            )
            assert result.exit_code == 0, result.output
        for account_id in found.ids:
            assert found.run("show", account_id).exit_code == 0
        assert found.run("show", found.ids[0], name="b").exit_code == 0
        yield found


def verify(log: Log, name: str = "a") -> Result:
    # Each verification starts with no witness file: only signatures can catch these.
    witness = log.tmp / f"data-{name}" / "audit-witness.json"
    witness.unlink(missing_ok=True)
    return log.run("audit", "verify", name=name)


def test_an_untouched_signed_log_verifies_for_every_reviewer(log: Log) -> None:
    for name in ("a", "b"):
        result = verify(log, name)
        assert result.exit_code == 0, result.output
        assert "intact: 7 entries" in result.output  # 3 received, 4 opened
    actors = [row["actor"] for row in log.rows()]
    assert actors[:3] == [f"node:{log.node.fingerprint}"] * 3
    assert f"reviewer:{reviewer('b').fingerprint}" in actors
    assert all(row["signature"] for row in log.rows())


def test_a_renumbered_rehashed_deletion_is_refused_without_a_witness(log: Log) -> None:
    rows = log.rows()
    del rows[3]  # the first "opened"
    prev = GENESIS
    engine = open_queue(log.url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(audit_log.delete())
        for seq, row in enumerate(rows, start=1):
            digest = entry_hash(
                seq,
                str(row["at"]),
                str(row["actor"]),
                str(row["action"]),
                row["account_id"],  # type: ignore[arg-type]
                str(row["detail"]),
                prev,
            )
            conn.execute(
                audit_log.insert().values({**row, "seq": seq, "prev_hash": prev, "hash": digest})
            )
            prev = digest
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    engine.dispose()
    result = verify(log)
    assert result.exit_code == 2, result.output
    assert "signature does not match it" in result.output


def test_an_entry_in_another_reviewers_name_is_refused(log: Log) -> None:
    # c can write the queue; it appends an entry naming a, signed with its own key.
    log.append_raw(f"reviewer:{reviewer('a').fingerprint}", reviewer("c"))
    result = verify(log, "b")
    assert result.exit_code == 2
    assert "entry 8: This entry's signature does not match it" in result.output


def test_an_unsigned_reviewer_entry_is_refused(log: Log) -> None:
    log.append_raw(f"reviewer:{reviewer('b').fingerprint}", None)
    result = verify(log)
    assert result.exit_code == 2
    assert "entry 8: This entry is not signed by the actor it names." in result.output


def test_an_entry_signed_by_a_key_nobody_pinned_is_refused(log: Log) -> None:
    """Not pinned is not tampered: one `review show` with the demo key on a real queue
    must not read as a forged log. A distinct message and exit status (3), naming the key."""
    log.append_raw(f"reviewer:{reviewer('c').fingerprint}", reviewer("c"))
    result = verify(log)
    assert result.exit_code == 3, result.output
    assert "tampered" not in result.output
    assert (
        f"entry 8 is signed by a reviewer key you have not pinned (fingerprint "
        f"{reviewer('c').fingerprint})" in result.output
    )
    assert "attest keys trust-reviewer FILE" in result.output and "demo key" in result.output
    # Real tampering as well: today's message and status, the unpinned entry still named.
    log.append_raw(f"reviewer:{reviewer('b').fingerprint}", None)
    both = verify(log)
    assert both.exit_code == 2, both.output
    assert "The audit log has been tampered with:" in both.output
    assert "entry 9: This entry is not signed by the actor it names." in both.output
    assert "entry 8 is signed by a reviewer key you have not pinned" in both.output


def test_a_withdrawal_applied_during_list_names_and_is_signed_by_that_reviewer(
    log: Log,
) -> None:
    engine = open_queue(log.url)
    with engine.begin() as conn:
        insert_ignore(
            conn,
            withdrawals,
            [{"secret": log.node.withdrawal_secret("REF-1"), "requested_at": T0}],
        )
    engine.dispose()
    listed = log.run("list", name="b")
    assert listed.exit_code == 0, listed.output
    withdrawn = [row for row in log.rows() if row["action"] == "withdrawn"]
    assert [row["actor"] for row in withdrawn] == [f"reviewer:{reviewer('b').fingerprint}"]
    assert withdrawn[0]["signature"]
    assert verify(log).exit_code == 0


def test_list_without_a_key_writes_nothing_and_says_so(log: Log) -> None:
    engine = open_queue(log.url)
    with engine.begin() as conn:
        insert_ignore(
            conn,
            withdrawals,
            [{"secret": log.node.withdrawal_secret("REF-2"), "requested_at": T0}],
        )
    engine.dispose()
    before = log.rows()
    result = CliRunner().invoke(
        review,
        ["list"],
        env={**log.env(), "ATTEST_REVIEWER_KEY": "", "ATTEST_REVIEWER_PASSPHRASE": ""},
    )
    assert result.exit_code == 0, result.output
    assert "waiting to be logged" in result.output
    assert log.rows() == before


@pytest.mark.postgres
def test_the_postgres_trigger_keeps_the_chain_append_only(tmp_path: Path) -> None:
    for url in fresh_queue_url("postgres", tmp_path):
        node = NodeKeys.generate()
        items = [make_account(node, [reviewer("a")])]
        put_accounts(url, node, items)
        log = Log(url, node, [items[0].sealed.account_id], tmp_path)
        seq, prev = log.head()
        with pg_role(url, "reviewer") as as_reviewer:
            engine = create_engine(as_reviewer.replace("postgresql://", "postgresql+psycopg://", 1))
            # Not after the head: refused however well it is hashed.
            for bad_seq, bad_prev in ((seq + 5, prev), (seq, prev), (seq + 1, GENESIS)):
                digest = entry_hash(bad_seq, "t", "admin", "opened", None, "{}", bad_prev)
                with pytest.raises(DBAPIError), engine.begin() as conn:
                    conn.execute(
                        text(
                            "INSERT INTO audit_log (seq, at, actor, action, detail, prev_hash, "
                            "hash, signature) VALUES (:s, 't', 'x', 'opened', '{}', :p, :h, 'sig')"
                        ),
                        {"s": bad_seq, "p": bad_prev, "h": digest},
                    )
            # Unsigned, even in the right place: only the administrator may.
            with pytest.raises(DBAPIError), engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO audit_log (seq, at, actor, action, detail, prev_hash, hash) "
                        "VALUES (:s, 't', 'admin', 'opened', '{}', :p, 'h')"
                    ),
                    {"s": seq + 1, "p": prev},
                )
            engine.dispose()
            # The reviewers' role appends signed entries through the commands as before.
            log.append_raw(f"reviewer:{reviewer('a').fingerprint}", reviewer("a"), url=as_reviewer)
        assert log.head()[0] == seq + 1
        # The administrator (the owner) may still write an unsigned entry after the head.
        log.append_raw("admin", None)
        assert log.head()[0] == seq + 2
        assert json.loads(str(log.rows()[-1]["detail"])) == {}


def test_list_with_nothing_to_log_asks_for_no_passphrase(log: Log) -> None:
    result = CliRunner().invoke(
        review, ["list"], env={**log.env(), "ATTEST_REVIEWER_PASSPHRASE": ""}, input=""
    )
    assert result.exit_code == 0, result.output
    assert "Passphrase" not in result.output


def test_verify_needs_no_private_key_and_never_asks_a_passphrase(log: Log) -> None:
    """Verifying needs only the public keys pinned; the tester was asked the passphrase
    every time, refused without ATTEST_REVIEWER_KEY, and refused with a version 1 key."""
    from tests.test_reseal import version_1

    def verify_as(env: dict[str, str]) -> Result:
        (Path(env["ATTEST_DATA_DIR"]) / "audit-witness.json").unlink(missing_ok=True)
        return CliRunner().invoke(review, ["audit", "verify"], env=env, input="")

    # d holds no key at all, only the pins of a, b and the node.
    d = {**log.env("d"), "ATTEST_REVIEWER_KEY": "", "ATTEST_REVIEWER_PASSPHRASE": ""}
    assert CliRunner().invoke(trust_node, [log.node.fingerprint], env=d).exit_code == 0
    for whom in ("a", "b"):
        pin = CliRunner().invoke(
            trust_reviewer_command, [str(log.tmp / whom / "reviewer.pub")], env=d
        )
        assert pin.exit_code == 0, pin.output
    pinned = verify_as(d)
    assert pinned.exit_code == 0, pinned.output
    assert "Passphrase" not in pinned.output and "ATTEST_REVIEWER_KEY" not in pinned.output
    # a's own entries count by the reviewer.pub beside a's key, with no passphrase asked.
    own = verify_as({**log.env("a"), "ATTEST_REVIEWER_PASSPHRASE": ""})
    assert own.exit_code == 0, own.output
    assert "Passphrase" not in own.output
    # A version 1 key (it cannot sign) is not asked for either: its pins decide.
    old = log.tmp / "old"
    old.mkdir()
    version_1(reviewer("d")).save(old / "reviewer.key", PASSPHRASE, FAST_KDF)
    with_v1 = verify_as({**d, "ATTEST_REVIEWER_KEY": str(old / "reviewer.key")})
    assert with_v1.exit_code == 0, with_v1.output
    assert "Passphrase" not in with_v1.output
