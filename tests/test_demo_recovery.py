"""Accounts sealed only to the demo reviewer key reach a real reviewer (finding F4).

A first `attest console` or `attest run` seals to the demo key until a real reviewer key
is added. The README's recovery: sync; on the node reseal with the demo key to the real
reviewer's key; the real reviewer pins the demo key *for recovery only* and opens them.
The demo key's private half (passphrase `demo`) is on the node's disk, so its signature
proves nothing about who resealed: what it opens is marked, its audit entries are reported
apart from those of trusted reviewers, and it never counts where a trusted reviewer's
signature is needed. What an account says still rests on the node's signature: a forged
demo reseal that hands out a different content key is refused, never shown.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import main
from bot.node import open_node
from bot.settings import load_settings
from storage.crypto import FAST_KDF, ReviewerPrivateKey, SealedAccount, generate_reviewer_key
from storage.intake.keyring import DEMO_DIR, DEMO_PASSPHRASE, PRIVATE_FILE, PUBLIC_FILE
from storage.queue.admin import open_queue
from storage.queue.reviewer_pins import ReviewerPins
from storage.queue.tables import accounts, reseals
from tests.telegram_harness import autopilot, open_harness

PASSPHRASE = "river stone paper lamp"
CLEAN_ENV: dict[str, str | None] = {
    "ATTEST_REVIEWER_KEY": None,
    "ATTEST_REVIEWER_KEYS": None,
    "ATTEST_REVIEWER_PASSPHRASE": None,
    "ATTEST_LANGUAGE": None,
    "ATTEST_REVIEWER_LANGUAGE": None,
    "ATTEST_NODE_PASSPHRASE": None,
    "ATTEST_DATABASE_URL": None,
    "ATTEST_TRUSTED_NODES": None,
    "ATTEST_TRUSTED_REVIEWERS": None,
    "ATTEST_AUDIT_WITNESS": None,
}


def attest(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    """`attest ...` exactly as the CLI runs it, in this process."""
    return CliRunner().invoke(main, list(args), env={**CLEAN_ENV, **env}, input=input)


def flat(result: Result) -> str:
    return " ".join(result.output.split())


async def first_run_account(data_dir: Path) -> None:
    """One account from a first run: no reviewer key yet, so the demo key is made and used."""
    settings = load_settings({"ATTEST_DATA_DIR": str(data_dir)})
    node = await open_node(settings, env={}, warn=io.StringIO())
    h = await open_harness(store=node.store, node=node.keys)
    try:
        await h.say("/start")
        await autopilot(h)
    finally:
        await h.app.shutdown()
        await node.close()


class Recovery:
    """The node, a real reviewer (alice) and the queue between them."""

    def __init__(self, tmp: Path) -> None:
        self.data_dir = tmp / "node-data"
        self.queue_url = str(tmp / "queue.db")
        self.alice_dir = tmp / "alice-laptop"
        self.alice_dir.mkdir()
        alice = generate_reviewer_key("x25519", name="alice")
        alice.save(self.alice_dir / "reviewer.key", PASSPHRASE, FAST_KDF)
        alice.public.save(self.alice_dir / "reviewer.pub")
        self.alice_pub = self.alice_dir / "reviewer.pub"
        self.node_env = {"ATTEST_DATA_DIR": str(self.data_dir), "ATTEST_QUEUE_URL": self.queue_url}
        self.alice_env = {
            "ATTEST_DATA_DIR": str(tmp / "alice-data"),
            "ATTEST_QUEUE_URL": self.queue_url,
            "ATTEST_REVIEWER_KEY": str(self.alice_dir / "reviewer.key"),
            "ATTEST_REVIEWER_PASSPHRASE": PASSPHRASE,
        }
        self.demo_key_file = self.data_dir / DEMO_DIR / PRIVATE_FILE
        self.demo_pub = self.data_dir / DEMO_DIR / PUBLIC_FILE

    def node(self, *args: str, input: str | None = None) -> Result:
        return attest(self.node_env, *args, input=input)

    def alice(self, *args: str) -> Result:
        return attest(self.alice_env, *args)

    def account_ids(self) -> list[str]:
        engine = open_queue(self.queue_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(select(accounts.c.id)).scalars())
        finally:
            engine.dispose()

    def node_fingerprint(self) -> str:
        shown = self.node("keys", "node")
        assert shown.exit_code == 0, shown.output
        found = re.search(r"Node fingerprint: (\S+)", shown.output)
        assert found is not None
        return found.group(1)

    def documented_steps(self) -> str:
        """README, "Reviewer keys": everything up to the real reviewer's `review show`."""
        assert self.node("keys", "add-reviewer", str(self.alice_pub)).exit_code == 0
        synced = self.node("sync")
        assert synced.exit_code == 0, synced.output
        node_fp = self.node_fingerprint()
        # On the node: pin its own key, then reseal with the demo key (passphrase demo).
        pinned = self.node("keys", "trust-node", node_fp)
        assert pinned.exit_code == 0, pinned.output
        resealed = attest(
            {**self.node_env, "ATTEST_REVIEWER_KEY": str(self.demo_key_file)},
            "review",
            "reseal",
            "--to",
            str(self.alice_pub),
            input=f"{DEMO_PASSPHRASE}\n",
        )
        assert resealed.exit_code == 0, resealed.output
        assert "Resealed 1 account(s)" in resealed.output
        # The real reviewer: the node as usual, the demo key for recovery only.
        assert self.alice("keys", "trust-node", node_fp).exit_code == 0
        trusted = self.alice("keys", "trust-reviewer", str(self.demo_pub), "--demo-recovery")
        assert trusted.exit_code == 0, trusted.output
        return flat(trusted)


async def test_the_documented_recovery_opens_accounts_sealed_only_to_the_demo_key(
    tmp_path: Path,
) -> None:
    r = Recovery(tmp_path)
    await first_run_account(r.data_dir)
    trusted = r.documented_steps()
    assert "proves nothing about who resealed" in trusted

    # Pinned for recovery only: never among the reviewers whose signatures are trusted
    # (audit entries, receipts that `untrust-node --after` counts).
    pins = ReviewerPins(tmp_path / "alice-data" / "trusted-reviewers.json")
    assert pins.load() == {} and len(pins.load_demo()) == 1

    (account_id,) = r.account_ids()
    shown = r.alice("review", "show", account_id)
    assert shown.exit_code == 0, shown.output
    assert "My answer to" in shown.output
    assert "resealed by the demo key: who resealed it is not known" in flat(shown)

    listed = r.alice("review", "list")
    assert listed.exit_code == 0, listed.output
    assert "RESEALED BY DEMO KEY" in listed.output

    # The reseal's audit entry is signed by the demo key: reported apart, not as trusted.
    verified = r.alice("review", "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "signed by the demo key you pinned for recovery" in flat(verified)

    # Dropped afterwards: the demo-resealed account no longer opens for alice.
    demo_fp = ReviewerPrivateKey.load(r.demo_key_file, DEMO_PASSPHRASE).fingerprint
    dropped = r.alice("keys", "untrust-reviewer", demo_fp)
    assert dropped.exit_code == 0, dropped.output
    refused = r.alice("review", "show", account_id)
    assert refused.exit_code == 1
    assert "My answer to" not in refused.output


async def test_without_the_flag_the_demo_key_is_still_refused(tmp_path: Path) -> None:
    r = Recovery(tmp_path)
    await first_run_account(r.data_dir)
    refused = r.alice("keys", "trust-reviewer", str(r.demo_pub))
    assert refused.exit_code != 0
    assert "demo" in refused.output and "--demo-recovery" in refused.output
    # A real key is never pinned "for demo recovery" (it would be marked as unknown).
    wrong = r.alice("keys", "trust-reviewer", str(r.alice_pub), "--demo-recovery")
    assert wrong.exit_code != 0
    assert not (tmp_path / "alice-data" / "trusted-reviewers.json").exists()


async def test_a_forged_demo_reseal_with_another_content_key_is_refused_not_shown(
    tmp_path: Path,
) -> None:
    """Anyone with the node's machine can sign as the demo key: they can hand a reviewer a
    reseal, but not a different account. The content key must open the node-signed body."""
    r = Recovery(tmp_path)
    await first_run_account(r.data_dir)
    r.documented_steps()
    (account_id,) = r.account_ids()
    demo = ReviewerPrivateKey.load(r.demo_key_file, DEMO_PASSPHRASE)
    alice_public = ReviewerPrivateKey.load(r.alice_dir / "reviewer.key", PASSPHRASE).public

    from storage.crypto.reseal import make_reseal
    from storage.crypto.seal import _key_info

    engine = open_queue(r.queue_url)
    try:
        with engine.connect() as conn:
            raw = conn.execute(select(accounts.c.sealed).where(accounts.c.id == account_id))
            sealed = SealedAccount.from_dict(json.loads(raw.scalar_one()))
        forged = make_reseal(
            sealed.account_id,
            b"\x01" * 32,  # not the account's content key
            alice_public,
            demo,
            _key_info(sealed.account_id, alice_public.fingerprint),
        )
        with engine.begin() as conn:
            conn.execute(reseals.delete().where(reseals.c.account_id == account_id))
            conn.execute(
                reseals.insert().values(
                    account_id=forged.account_id,
                    recipient=forged.recipient,
                    wrapped=forged.wrapped,
                    resealer=forged.resealer,
                    signature=forged.signature,
                    created_at=datetime.now(UTC),
                )
            )
    finally:
        engine.dispose()
    refused = r.alice("review", "show", account_id)
    assert refused.exit_code == 1
    assert "failed its integrity check" in refused.output
    assert "My answer to" not in refused.output


async def test_export_counts_demo_resealed_accounts_apart_not_as_failed_verification(
    tmp_path: Path,
) -> None:
    """The mistake a tester met: after the documented recovery, `review export` said the
    account "failed verification". Nothing failed: it verifies against the node's
    signature and opens in `review show`; exports leave it out because only the demo key
    resealed it. The count says so, apart from accounts that really failed a check."""
    r = Recovery(tmp_path)
    await first_run_account(r.data_dir)
    r.documented_steps()
    for purpose in (["--internal"], ["--purpose", "reports"]):
        result = r.alice("review", "export", "--format", "json", *purpose)
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        assert document["accounts"] == []
        assert document["left_out"]["unverified"] == 0, document["left_out"]
        assert document["left_out"]["resealed_by_demo_key"] == 1, document["left_out"]
        said = flat(result)
        assert "0 that failed verification" in said, said
        assert "1 resealed to you by the demo key" in said, said
        assert "attest review show" in said, said
