"""Node signing-key rotation and untrust (issue 15, item 2).

Rotation: old and new accounts verify, and a reviewer's pin carries over only through a
certificate the pinned key really signed. Untrust with a cut-off: compared with the
queue's own `received` entry, never with a time the node (or a thief with its key)
wrote; earlier accounts open marked, later ones are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.cli_queue import trust_node
from review.cli import review
from storage.crypto import FAST_KDF, NodeKeys
from storage.crypto.rotation import Rotation, rotation_signed_bytes
from storage.queue.admin import open_queue
from storage.queue.audit import AuditSigner
from storage.queue.items import reviewer_actor
from storage.queue.store import Queue
from storage.sync import OutgoingAccount, insert_accounts, insert_rotations, node_signer
from tests.queue_support import (
    BACKENDS,
    PASSPHRASE,
    answer,
    fresh_queue_url,
    make_account,
    reviewer,
)

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@dataclass
class Desk:
    url: str
    tmp: Path

    def env(self) -> dict[str, str]:
        return {
            "ATTEST_DATA_DIR": str(self.tmp / "data"),
            "ATTEST_QUEUE_URL": self.url,
            "ATTEST_REVIEWER_KEY": str(self.tmp / "a" / "reviewer.key"),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(review, list(args), env=self.env())

    def keys(self, *args: str) -> Result:
        return CliRunner().invoke(main, ["keys", *args], env=self.env())

    def deliver(
        self,
        node: NodeKeys,
        items: list[OutgoingAccount],
        logged_at: datetime,
        *,
        by_node: NodeKeys | None = None,
        rotations: tuple[Rotation, ...] = (),
        sent_at: datetime | None = None,
    ) -> None:
        """Sync `items` (the node's own `received_at` is `sent_at`), then log their receipt."""
        engine = open_queue(self.url)
        with engine.begin() as conn:
            insert_accounts(conn, items, sent_at or logged_at, node.public_keys())
            insert_rotations(conn, rotations)
        key = reviewer("a")
        signer = (
            node_signer(by_node)
            if by_node is not None
            else AuditSigner(reviewer_actor(key.fingerprint), key.sign)
        )
        Queue(engine, signer=signer, clock=lambda: logged_at).reconcile()
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    for url in fresh_queue_url(request.param, tmp_path):
        (tmp_path / "a").mkdir()
        reviewer("a").save(tmp_path / "a" / "reviewer.key", PASSPHRASE, FAST_KDF)
        yield Desk(url, tmp_path)


def account(node: NodeKeys, text: str) -> OutgoingAccount:
    return make_account(node, [reviewer("a")], answers=[answer("what", "What?", text)])


def pin(desk: Desk, node: NodeKeys) -> None:
    result = CliRunner().invoke(trust_node, [node.fingerprint], env=desk.env())
    assert result.exit_code == 0, result.output


def test_after_a_rotation_old_and_new_accounts_open_and_the_pin_carries_over(
    desk: Desk,
) -> None:
    old = NodeKeys.generate()
    before = account(old, "before rotation")
    desk.deliver(old, [before], T0)
    pin(desk, old)
    new = old.rotated("2026-11-02T09:00:00+00:00")
    assert new.master_key == old.master_key and new.pseudonym("t", 1) == old.pseudonym("t", 1)
    assert new.fingerprint != old.fingerprint
    after = account(new, "after rotation")
    desk.deliver(new, [after], T0 + timedelta(days=2), rotations=new.rotations)

    shown = desk.run("show", after.sealed.account_id)
    assert shown.exit_code == 0, shown.output
    assert "after rotation" in shown.output
    assert "a node key you trust handed signing over to it" in shown.output
    assert "before rotation" in desk.run("show", before.sealed.account_id).output
    listed = desk.run("list")
    assert "UNPINNED" not in listed.output


def test_a_rotation_not_signed_by_the_pinned_key_is_not_followed(desk: Desk) -> None:
    old = NodeKeys.generate()
    desk.deliver(old, [account(old, "real")], T0)
    pin(desk, old)
    thief = NodeKeys.generate()
    at = "2026-11-02T09:00:00+00:00"
    # Claims the pinned key handed over to the thief's key, signed by the thief.
    forged = Rotation(
        old.public_key_bytes,
        thief.public_key_bytes,
        at,
        thief.sign(rotation_signed_bytes(old.public_key_bytes, thief.public_key_bytes, at)),
    )
    planted = account(thief, "planted")
    desk.deliver(thief, [planted], T0 + timedelta(days=1), rotations=(forged,))
    refused = desk.run("show", planted.sealed.account_id)
    assert refused.exit_code == 1
    assert "planted" not in refused.output
    assert "UNPINNED NODE" in desk.run("list").output


def test_a_rotation_from_an_untrusted_key_is_not_followed(desk: Desk) -> None:
    old = NodeKeys.generate()
    desk.deliver(old, [account(old, "real")], T0)
    pin(desk, old)
    assert desk.keys("untrust-node", old.fingerprint).exit_code == 0
    # Whoever stole the old key certifies a key of their own with it: a valid signature.
    stolen = old.rotated("2026-11-03T09:00:00+00:00")
    planted = account(stolen, "planted")
    desk.deliver(stolen, [planted], T0 + timedelta(days=2), rotations=stolen.rotations)
    assert desk.run("show", planted.sealed.account_id).exit_code == 1


def test_untrust_with_a_cut_off_uses_the_queues_receipt_not_the_nodes_time(
    desk: Desk,
) -> None:
    node = NodeKeys.generate()
    early = account(node, "received before")
    desk.deliver(node, [early], T0)
    pin(desk, node)
    cutoff = T0 + timedelta(days=1)
    # Sent with a backdated time by whoever holds the key; the queue logs it later.
    late = account(node, "received after")
    desk.deliver(node, [late], T0 + timedelta(days=2), sent_at=T0 - timedelta(days=30))
    # The thief syncs with rights and logs its own receipt, backdated, signed by the key.
    forged_time = account(node, "backdated receipt")
    desk.deliver(node, [forged_time], T0, by_node=node, sent_at=T0)

    result = desk.keys("untrust-node", node.fingerprint, "--after", cutoff.isoformat())
    assert result.exit_code == 0, result.output

    shown = desk.run("show", early.sealed.account_id)
    assert shown.exit_code == 0, shown.output
    assert "received before" in shown.output
    assert "untrusted for accounts received after" in shown.output
    for refused_account in (late, forged_time):
        refused = desk.run("show", refused_account.sealed.account_id)
        assert refused.exit_code == 1
        assert "was untrusted from a time before the queue received it" in refused.output
    assert "NODE KEY UNTRUSTED AFTER" in desk.run("list").output

    exported = CliRunner().invoke(
        review, ["export", "--format", "json", "--internal"], env=desk.env()
    )
    assert exported.exit_code == 0, exported.output
    assert "received before" in exported.output
    assert "received after" not in exported.output and "backdated" not in exported.output


def test_untrust_without_a_time_refuses_every_account_of_that_key(desk: Desk) -> None:
    node = NodeKeys.generate()
    item = account(node, "any")
    desk.deliver(node, [item], T0)
    pin(desk, node)
    assert desk.keys("untrust-node", node.fingerprint).exit_code == 0
    assert desk.run("show", item.sealed.account_id).exit_code == 1
    bad = desk.keys("untrust-node", node.fingerprint[:8])
    assert bad.exit_code == 1 and "whole fingerprint" in bad.output
    bad_time = desk.keys("untrust-node", node.fingerprint, "--after", "yesterday")
    assert bad_time.exit_code == 1 and "not a time" in bad_time.output


def test_rotate_node_command_keeps_drafts_and_pseudonyms_and_protection(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old = NodeKeys.load_or_create(data_dir / "node.key")
    env = {"ATTEST_DATA_DIR": str(data_dir), "ATTEST_NODE_PASSPHRASE": "seven quiet lanterns"}
    assert CliRunner().invoke(main, ["keys", "protect-node"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["keys", "rotate-node"], env=env)
    assert result.exit_code == 0, result.output
    new = NodeKeys.load(data_dir / "node.key", "seven quiet lanterns")
    assert new.fingerprint != old.fingerprint and new.fingerprint in result.output
    assert new.master_key == old.master_key
    assert new.pseudonym_secret == old.pseudonym_secret
    assert [r.old_fingerprint for r in new.rotations] == [old.fingerprint]
    assert new.rotations[0].verifies()
    assert set(new.public_keys()) == {old.fingerprint, new.fingerprint}
    wrong = CliRunner().invoke(
        main, ["keys", "rotate-node"], env={**env, "ATTEST_NODE_PASSPHRASE": "not it at all"}
    )
    assert wrong.exit_code == 1
    assert NodeKeys.load(data_dir / "node.key", "seven quiet lanterns").fingerprint == (
        new.fingerprint
    )
