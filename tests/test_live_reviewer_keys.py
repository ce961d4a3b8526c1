"""A running node seals to the reviewer keys current when it seals (finding F2).

`attest console` and `attest run` are long-running: a key added with `attest keys
add-reviewer` while they run ("New accounts are sealed to it") must be sealed to by the
next account they finish, and the demo key must stop being sealed to as soon as a real key
exists. A reviewer key file that cannot be read at that moment must not seal the account
to fewer keys, nor lose it: the account stays in its draft and the operator is told.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from bot.cli import main
from bot.node import Node, open_node
from bot.settings import load_settings
from storage.crypto import (
    FAST_KDF,
    NodeKeys,
    NotARecipient,
    ReviewerPrivateKey,
    SealedAccount,
    generate_reviewer_key,
    open_account,
)
from storage.db import create_store_engine, read_connection
from storage.intake.keyring import DEMO_DIR, DEMO_PASSPHRASE, PRIVATE_FILE
from storage.intake.rows import sealed_from_row
from storage.intake.tables import outbox
from tests.console_driver import cooperative, run_console
from tests.telegram_harness import Harness, autopilot, open_harness
from tests.test_telegram_channel import autopilot_until

PASSPHRASE = "river stone paper lamp"
CLEAN_ENV: dict[str, str | None] = {
    "ATTEST_REVIEWER_KEYS": None,
    "ATTEST_LANGUAGE": None,
    "ATTEST_NODE_PASSPHRASE": None,
    "ATTEST_DATABASE_URL": None,
}


def keys(data_dir: Path, *args: str) -> Result:
    """`attest keys ...` exactly as the CLI runs it, in this process."""
    env = {**CLEAN_ENV, "ATTEST_DATA_DIR": str(data_dir)}
    return CliRunner().invoke(main, ["keys", *args], env=env)


def reviewer_key(folder: Path, name: str) -> tuple[ReviewerPrivateKey, Path]:
    """A real reviewer key made on 'the reviewer's computer': (private key, reviewer.pub)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = generate_reviewer_key("x25519", name=name)
    key.public.save(folder / f"{name}.pub")
    return key, folder / f"{name}.pub"


def sealed_accounts(data_dir: Path) -> list[SealedAccount]:
    engine = create_store_engine(data_dir / "intake.db")
    try:
        with read_connection(engine) as conn:
            return [sealed_from_row(row) for row in conn.execute(select(outbox)).all()]
    finally:
        engine.dispose()


def demo_key(data_dir: Path) -> ReviewerPrivateKey:
    return ReviewerPrivateKey.load(data_dir / DEMO_DIR / PRIVATE_FILE, DEMO_PASSPHRASE)


def opens(sealed: SealedAccount, key: ReviewerPrivateKey, node: NodeKeys) -> bool:
    try:
        open_account(sealed, key, {node.fingerprint: node.public_key_bytes})
    except NotARecipient:
        return False
    return True


def node_keys(data_dir: Path) -> NodeKeys:
    return NodeKeys.load_or_create(data_dir / "node.key")


@pytest.mark.slow
def test_a_key_added_while_the_console_runs_is_sealed_to_and_the_demo_key_no_longer(
    tmp_path: Path,
) -> None:
    """The tester's steps: a first console run (demo key), a real key added from another
    shell mid-interview, the interview finished in the same still-running console."""
    data_dir = tmp_path / "data"
    alice, alice_pub = reviewer_key(tmp_path / "alice-laptop", "alice")
    answer = cooperative("Something happened.")
    asked = 0

    def answer_and_add_a_key_midway(ask: dict[str, Any]) -> str:
        nonlocal asked
        asked += 1
        if asked == 4:  # the console is running with the demo key by now
            assert (data_dir / DEMO_DIR / "reviewer.pub").exists()
            added = keys(data_dir, "add-reviewer", str(alice_pub))
            assert added.exit_code == 0 and "New accounts are sealed to it" in added.output
        return answer(ask)

    events, stderr = run_console(data_dir, answer_and_add_a_key_midway, respondent="r1")
    assert events[-1]["reason"] == "submitted"
    assert "DEMO reviewer key" in stderr  # it did start on the demo key

    (sealed,) = sealed_accounts(data_dir)
    node = node_keys(data_dir)
    assert opens(sealed, alice, node), "the key add-reviewer promised cannot open it"
    assert not opens(sealed, demo_key(data_dir), node), "the demo key still opens it"


@pytest.fixture
async def telegram_node(tmp_path: Path) -> AsyncIterator[tuple[Node, Harness, Path]]:
    """`attest run`'s node (no demo key allowed) with one real key, on the Telegram channel."""
    data_dir = tmp_path / "data"
    _, alice_pub = reviewer_key(tmp_path / "alice-laptop", "alice")
    assert keys(data_dir, "add-reviewer", str(alice_pub)).exit_code == 0
    settings = load_settings({"ATTEST_DATA_DIR": str(data_dir)})
    node = await open_node(settings, allow_demo=False, env={}, warn=io.StringIO())
    harness = await open_harness(store=node.store, node=node.keys)
    try:
        yield node, harness, data_dir
    finally:
        await harness.app.shutdown()
        await node.close()


async def test_a_second_key_added_mid_interview_on_telegram_opens_the_account(
    telegram_node: tuple[Node, Harness, Path], tmp_path: Path
) -> None:
    node, h, data_dir = telegram_node
    await h.say("/start")
    await autopilot_until(h, "harms")
    bob, bob_pub = reviewer_key(tmp_path / "bob-laptop", "bob")
    assert keys(data_dir, "add-reviewer", str(bob_pub)).exit_code == 0
    await autopilot(h)

    (sealed,) = sealed_accounts(data_dir)
    assert opens(sealed, bob, node.keys), "the reviewer added mid-interview cannot open it"
    assert len(sealed.recipients) == 2  # alice too


async def test_a_damaged_key_file_at_seal_time_keeps_the_account_and_tells_the_operator(
    telegram_node: tuple[Node, Harness, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    node, h, data_dir = telegram_node
    await h.say("/start")
    await autopilot_until(h, "harms")
    # An operator copying a key in by hand, caught half-way.
    half = data_dir / "reviewers" / "carol.pub"
    half.write_text('{"kind": "attest-reviewer-public-key", "suite": "x25')
    with caplog.at_level(logging.INFO):
        await autopilot_until(h, "review")
        await h.press("Send my account")
    assert sealed_accounts(data_dir) == []  # not sealed without carol, not lost either
    assert await h.state() == "review"  # the draft is kept, at the same step
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("reviewer key" in e and "carol.pub" in e for e in errors), errors
    assert not any("My answer to" in r.getMessage() for r in caplog.records)

    carol, carol_pub = reviewer_key(tmp_path / "carol-laptop", "carol")
    half.unlink()
    assert keys(data_dir, "add-reviewer", str(carol_pub)).exit_code == 0
    await h.press("Send my account")
    (sealed,) = sealed_accounts(data_dir)
    assert opens(sealed, carol, node.keys)


async def test_the_bot_never_falls_back_to_the_demo_key_when_the_real_ones_go(
    telegram_node: tuple[Node, Harness, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """`attest run` refuses to start on the demo key; removing the last real key while it
    runs must not make it seal to the demo key (or to nothing) instead."""
    _, h, data_dir = telegram_node
    demo = generate_reviewer_key("x25519", demo=True)
    (data_dir / DEMO_DIR).mkdir()
    demo.save(data_dir / DEMO_DIR / PRIVATE_FILE, DEMO_PASSPHRASE, FAST_KDF)
    demo.public.save(data_dir / DEMO_DIR / "reviewer.pub")
    await h.say("/start")
    await autopilot_until(h, "review")
    for path in (data_dir / "reviewers").glob("*.pub"):
        path.unlink()
    with caplog.at_level(logging.ERROR):
        await h.press("Send my account")
    assert sealed_accounts(data_dir) == []
    assert await h.state() == "review"
    assert any("reviewer key" in r.getMessage() for r in caplog.records)


async def test_keys_list_and_sync_count_accounts_sealed_only_to_the_demo_key(
    tmp_path: Path,
) -> None:
    """An account sealed to the demo key before a real key was added: no current reviewer
    can open it. `keys list` and `sync` say how many (never which), and what to do."""
    data_dir = tmp_path / "data"
    settings = load_settings({"ATTEST_DATA_DIR": str(data_dir)})
    node = await open_node(settings, env={}, warn=io.StringIO())  # a first run: demo key
    h = await open_harness(store=node.store, node=node.keys)
    try:
        await h.say("/start")
        await autopilot(h)
    finally:
        await h.app.shutdown()
        await node.close()
    assert "no current reviewer key opens" not in keys(data_dir, "list").output  # demo in use

    _, alice_pub = reviewer_key(tmp_path / "alice-laptop", "alice")
    assert keys(data_dir, "add-reviewer", str(alice_pub)).exit_code == 0
    listed = keys(data_dir, "list")
    assert listed.exit_code == 0
    text = " ".join(listed.output.split())
    assert "waiting in this node's outbox that no current reviewer key opens: 1." in text
    assert "attest review reseal --to FILE" in text

    env = {
        **CLEAN_ENV,
        "ATTEST_DATA_DIR": str(data_dir),
        "ATTEST_QUEUE_URL": str(tmp_path / "queue.db"),
    }
    synced = CliRunner().invoke(main, ["sync"], env=env)
    assert synced.exit_code == 0, synced.output
    assert "in this sync that no current reviewer key opens: 1." in " ".join(synced.output.split())
    # Sent: nothing waits any more, and the warning goes with it.
    assert "no current reviewer key opens" not in keys(data_dir, "list").output
