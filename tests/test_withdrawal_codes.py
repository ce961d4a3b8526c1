"""Withdrawal codes on a real node: the right code withdraws, a wrong one is never "recorded".

The node keeps a keyed digest of the code of every account it sends (never the code, never
the hash the queue keeps), so it can tell, after sync has emptied its outbox and from any
chat, whether a typed code is one of its own. From the store through the dispatcher to
the queue and a reviewer's command.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.node import Node, open_node
from bot.settings import load_settings
from flows.reference import ALPHABET
from flows.types import Inbound, RecordWithdrawal
from storage.crypto import NodeKeys, withdrawal_hash
from storage.db import create_store_engine
from storage.intake.memory import MemoryIntakeStore
from storage.intake.store import DATABASE_FILE, FILES_DIR, SqlIntakeStore
from storage.intake.tables import sent_codes, withdrawal_requests
from storage.queue.admin import open_queue
from storage.queue.store import Queue
from storage.sync import Outbox, sync_outbox
from tests.console_driver import cooperative
from tests.intake_support import (
    T0,
    account,
    any_store,
    data_dir,
    database,
    node,
    reviewer,
    sql_store,
    turn,
)
from tests.queue_support import BACKENDS, fresh_queue_url

__all__ = [
    "any_store",
    "data_dir",
    "database",
    "node",
    "reviewer",
    "sql_store",
]  # fixtures used below

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CODE = "K7QM-4TXA-9XP"
OLD_CODE = "66WQ-96HV-VC"


def typo(code: str, position: int) -> str:
    chars = code.replace("-", "")
    other = next(c for c in ALPHABET if c != chars[position])
    chars = chars[:position] + other + chars[position + 1 :]
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


# -- the store ------------------------------------------------------------------------------


async def test_a_code_this_node_sent_is_known_from_any_chat(
    any_store: SqlIntakeStore | MemoryIntakeStore,
) -> None:
    await any_store.commit_turn(
        "author", turn(None, account=account(CODE)), update_key=None, channel="t", now=T0
    )
    # Another chat: a documenter, or the same person after a quick exit wiped their session.
    assert await any_store.check_withdrawal_code("someone-else", CODE, T0) == "sent"
    assert await any_store.check_withdrawal_code("someone-else", OLD_CODE, T0) == "unknown"


async def test_a_code_is_still_known_after_sync_emptied_the_outbox(
    sql_store: SqlIntakeStore, data_dir: Path, database: str | None
) -> None:
    await sql_store.commit_turn(
        "author", turn(None, account=account(OLD_CODE)), update_key=None, channel="t", now=T0
    )
    outbox = Outbox(sql_store.engine, data_dir / FILES_DIR)
    outbox.confirm_accounts([a.sealed.account_id for a in outbox.take_accounts(10)])
    assert outbox.counts() == (0, 0)
    assert await sql_store.check_withdrawal_code("other", OLD_CODE, T0) == "sent"
    assert await sql_store.check_withdrawal_code("other", typo(OLD_CODE, 9), T0) == "unknown"


async def test_looking_up_a_code_records_no_withdrawal(sql_store: SqlIntakeStore) -> None:
    await sql_store.check_withdrawal_code("someone", CODE, T0)
    with sql_store.engine.connect() as conn:
        requests = conn.execute(select(func.count()).select_from(withdrawal_requests))
        assert requests.scalar_one() == 0


async def test_unmatched_codes_count_towards_the_hourly_limit(
    any_store: SqlIntakeStore | MemoryIntakeStore,
) -> None:
    await any_store.commit_turn(
        "author", turn(None, account=account(CODE)), update_key=None, channel="t", now=T0
    )
    for position in range(5):
        unknown = await any_store.check_withdrawal_code("guesser", typo(OLD_CODE, position), T0)
        assert unknown == "unknown"
    # Guessing unknown codes stops at the limit; every look-up there still counts.
    assert await any_store.check_withdrawal_code("guesser", typo(OLD_CODE, 6), T0) == (
        "rate-limited"
    )
    later = T0 + timedelta(minutes=50)
    for position in range(5):
        assert await any_store.check_withdrawal_code(
            "guesser", typo(OLD_CODE, position), later
        ) == ("rate-limited")
    # Once the first five are an hour old, the five made at the limit still hold it.
    after_first = T0 + timedelta(hours=1, seconds=1)
    assert await any_store.check_withdrawal_code("guesser", typo(OLD_CODE, 8), after_first) == (
        "rate-limited"
    )
    after_all = later + timedelta(hours=1, seconds=1)
    assert await any_store.check_withdrawal_code("guesser", typo(OLD_CODE, 8), after_all) == (
        "unknown"
    )


async def test_a_code_this_node_sent_goes_through_even_at_the_limit(
    any_store: SqlIntakeStore | MemoryIntakeStore,
) -> None:
    """A person who mistyped five times must not be kept from a genuine withdrawal."""
    await any_store.commit_turn(
        "author", turn(None, account=account(CODE)), update_key=None, channel="t", now=T0
    )
    for position in range(5):
        await any_store.check_withdrawal_code("person", typo(OLD_CODE, position), T0)
    assert await any_store.check_withdrawal_code("person", OLD_CODE, T0) == "rate-limited"
    assert await any_store.check_withdrawal_code("person", CODE, T0) == "sent"
    result = await any_store.commit_turn(
        "person", turn(None, RecordWithdrawal(CODE)), update_key=None, channel="t", now=T0
    )
    assert result.withdrawals == ("removed",)
    # Recording it counted as an attempt, like any other: an unknown code is still refused.
    assert await any_store.check_withdrawal_code("person", OLD_CODE, T0) == "rate-limited"
    # A request for a code this node has no record of is still held to the limit.
    unknown = await any_store.commit_turn(
        "person", turn(None, RecordWithdrawal(OLD_CODE)), update_key=None, channel="t", now=T0
    )
    assert unknown.withdrawals == ("rate-limited",)


async def test_the_node_keeps_a_keyed_digest_not_the_code_nor_the_queues_hash(
    sql_store: SqlIntakeStore, node: NodeKeys
) -> None:
    await sql_store.commit_turn(
        "author", turn(None, account=account(CODE)), update_key=None, channel="t", now=T0
    )
    with sql_store.engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(select(sent_codes))]
    assert len(rows) == 1
    (kept,) = rows[0]  # one column: no time, no person, nothing to link an account to a chat
    secret = node.withdrawal_secret(CODE)
    forms = {CODE, CODE.replace("-", ""), secret, withdrawal_hash(secret)}
    assert not any(form in kept for form in forms)
    # Keyed: another node's key gives another digest.
    assert NodeKeys.generate().sent_code_digest(CODE) != kept


# -- the dispatcher ---------------------------------------------------------------------------


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Node]:
    settings = load_settings({"ATTEST_DATA_DIR": str(tmp_path / "node")})
    opened = await open_node(settings, warn=io.StringIO())
    yield opened
    await opened.close()


async def say(node: Node, chat: str, inbound: Inbound | str) -> list[str]:
    if isinstance(inbound, str):
        inbound = Inbound(kind="text", text=inbound)
    reply = await node.dispatcher.handle("test", chat, inbound, update_key=None, now=NOW)
    return [m.text for m in reply.messages]


async def give_account(node: Node, chat: str) -> str:
    """A whole interview through the dispatcher; the reference code it ends with."""
    answer = cooperative("They closed the school.")
    reply = await node.dispatcher.handle(
        "test", chat, Inbound(kind="start"), update_key=None, now=NOW
    )
    while reply.end is None:
        ask = next(m for m in reversed(reply.messages) if m.ask)
        event = {
            "step": ask.ask,
            "kind": ask.kind,
            "options": [{"n": c.n, "value": c.value} for c in ask.choices],
        }
        reply = await node.dispatcher.handle(
            "test", chat, Inbound(kind="text", text=answer(event)), update_key=None, now=NOW
        )
    assert reply.end == "submitted" and reply.reference
    return reply.reference


def requests_on(node: Node) -> int:
    engine = create_store_engine(node.settings.data_dir / DATABASE_FILE)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(withdrawal_requests)).scalar_one()
    engine.dispose()
    return int(count)


def empty_outbox(node: Node) -> None:
    outbox = Outbox(
        create_store_engine(node.settings.data_dir / DATABASE_FILE),
        node.settings.data_dir / FILES_DIR,
    )
    outbox.confirm_accounts([a.sealed.account_id for a in outbox.take_accounts(10)])


async def test_a_typo_in_a_real_code_is_refused_at_every_position(live: Node) -> None:
    code = await give_account(live, "author")
    empty_outbox(live)
    await say(live, "other", Inbound(kind="command", command="withdraw"))
    for position in range(11):
        said = " ".join(await say(live, "other", typo(code, position)))
        assert "Nothing has been withdrawn yet" in said
        assert "is recorded" not in said and "remove" not in said
    assert requests_on(live) == 0


async def test_the_right_code_from_another_chat_is_recorded_for_removal(live: Node) -> None:
    code = await give_account(live, "author")
    empty_outbox(live)  # synced: only the node's record of the code is left
    await say(live, "documenter", Inbound(kind="command", command="withdraw"))
    said = " ".join(await say(live, "documenter", code.lower().replace("-", " ")))
    assert "is recorded, and the team will remove it" in said
    assert requests_on(live) == 1


async def test_a_code_from_before_the_check_character_still_withdraws_after_a_second_send(
    live: Node,
) -> None:
    await say(live, "someone", Inbound(kind="command", command="withdraw"))
    first = " ".join(await say(live, "someone", OLD_CODE))
    assert "couldn't find" in first and "Nothing has been withdrawn yet" in first
    assert requests_on(live) == 0
    again = " ".join(await say(live, "someone", OLD_CODE.lower()))
    assert "is recorded" in again and "look for an account it matches" in again
    assert "will remove it" not in again
    assert requests_on(live) == 1


async def test_nothing_about_a_code_reaches_the_logs(
    live: Node, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await give_account(live, "author")
    await say(live, "other", Inbound(kind="command", command="withdraw"))
    await say(live, "other", typo(code, 4))
    await say(live, "other", OLD_CODE)
    await say(live, "other", OLD_CODE)
    await say(live, "again", Inbound(kind="command", command="withdraw"))
    await say(live, "again", code)
    keys = live.keys
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for c in (code, OLD_CODE, typo(code, 4)):
        secret = keys.withdrawal_secret(c)
        for form in (c, c.replace("-", ""), secret, withdrawal_hash(secret)):
            assert form not in logged
            assert form.lower() not in logged
        assert keys.sent_code_digest(c) not in logged


async def test_the_node_database_holds_no_code_in_clear(live: Node) -> None:
    code = await give_account(live, "author")
    await say(live, "other", Inbound(kind="command", command="withdraw"))
    await say(live, "other", OLD_CODE)
    await say(live, "again", Inbound(kind="command", command="withdraw"))
    await say(live, "again", code)
    blobs = b"".join(p.read_bytes() for p in live.settings.data_dir.rglob("*") if p.is_file())
    for c in (code, OLD_CODE):
        for form in (c, c.replace("-", ""), c.lower()):
            assert form.encode() not in blobs


# -- node -> sync -> queue -> a reviewer's command -------------------------------------------


@pytest.fixture(params=BACKENDS)
def queue_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_queue_url(request.param, tmp_path)


async def test_the_right_code_withdraws_end_to_end_and_a_typo_erases_nothing(
    live: Node, queue_url: str
) -> None:
    code = await give_account(live, "author")
    kept = await give_account(live, "neighbour")
    data = live.settings.data_dir
    outbox = Outbox(create_store_engine(data / DATABASE_FILE), data / FILES_DIR)
    sync_outbox(outbox, open_queue(queue_url), {})
    queue = Queue(open_queue(queue_url))
    queue.reconcile()
    ids = sorted(i.account_id for i in queue.list_accounts())
    assert len(ids) == 2

    # A slip, then the right code, from a chat that never gave an account.
    await say(live, "later", Inbound(kind="command", command="withdraw"))
    await say(live, "later", typo(code, 10))
    said = " ".join(await say(live, "later", code))
    assert "is recorded, and the team will remove it" in said
    report = sync_outbox(outbox, open_queue(queue_url), {})
    assert report.withdrawals == 1
    queue.reconcile()  # what every reviewer command does first
    left = [i.account_id for i in queue.list_accounts()]
    assert len(left) == 1
    gone = next(i for i in ids if i not in left)
    assert queue.item(gone).withdrawn_at is not None
    assert queue.item(left[0]).withdrawn_at is None
    assert kept != code
    queue.close()


async def test_a_held_request_for_the_right_code_withdraws_once_an_administrator_confirms(
    live: Node, queue_url: str
) -> None:
    code = await give_account(live, "author")
    data = live.settings.data_dir
    outbox = Outbox(create_store_engine(data / DATABASE_FILE), data / FILES_DIR)
    sync_outbox(outbox, open_queue(queue_url), {})
    await say(live, "later", Inbound(kind="command", command="withdraw"))
    said = " ".join(await say(live, "later", code))
    assert "is recorded, and the team will remove it" in said

    sync_outbox(outbox, open_queue(queue_url), {}, burst=0)  # every request is a burst
    queue = Queue(open_queue(queue_url), withdrawal_burst=0)
    queue.reconcile()
    (held,) = queue.held_batches()
    (account_id,) = held.account_ids  # the request matches the account: the code was right
    assert queue.item(account_id).withdrawn_at is None
    queue.decide_batch(held.batch, confirm=True)
    queue.reconcile()
    assert queue.item(account_id).withdrawn_at is not None
    queue.close()


async def test_after_five_wrong_codes_the_right_one_is_still_recorded(live: Node) -> None:
    code = await give_account(live, "author")
    empty_outbox(live)
    await say(live, "person", Inbound(kind="command", command="withdraw"))
    for position in range(5):
        said = " ".join(await say(live, "person", typo(OLD_CODE, position)))
        assert "couldn't find" in said
    limited = " ".join(await say(live, "person", typo(OLD_CODE, 6)))
    assert "Several codes were tried" in limited and "nothing was recorded" in limited
    # Like every other withdrawal reply, it says whom to write to.
    assert live.deployment.org_contact in limited
    said = " ".join(await say(live, "person", code))
    assert "is recorded, and the team will remove it" in said
    assert requests_on(live) == 1


async def test_withdrawing_an_account_not_yet_synced_says_one_thing(live: Node) -> None:
    """It said both "recorded, the team will remove it" and "had not left this service
    yet, it is now deleted": one clear message for each case."""
    code = await give_account(live, "author")  # still in the outbox
    await say(live, "author", Inbound(kind="command", command="withdraw"))
    said = await say(live, "author", code)
    whole = " ".join(said)
    assert len(said) == 1
    assert "had not left this service yet" in whole and "deleted" in whole
    assert "the team will remove it" not in whole and "is recorded" not in whole


async def test_withdrawing_an_account_already_synced_says_the_team_will_remove_it(
    live: Node,
) -> None:
    code = await give_account(live, "author")
    empty_outbox(live)
    await say(live, "author", Inbound(kind="command", command="withdraw"))
    said = await say(live, "author", code)
    assert len(said) == 1
    assert "the team will remove it" in said[0] and "had not left" not in said[0]
