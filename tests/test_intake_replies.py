"""A turn's reply kept with the turn until it is sent: SQLite, PostgreSQL and the fake alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from flows.types import Choice, EraseChat, Outbound, RecordWithdrawal, ShredDraft
from storage.crypto import NodeKeys, ReviewerPrivateKey
from storage.intake.replies import PendingReply
from storage.intake.store import IntakeStore, SqlIntakeStore, open_intake_store
from storage.intake.tables import processed_updates
from tests.intake_support import T0, account, any_store, node, reviewer, session, turn
from tests.test_canary import CANARY, encodings, files_under

__all__ = ["any_store", "node", "reviewer"]  # fixtures used below

ASK = Outbound(
    text="Which of these happened? " + CANARY,
    ask="harms",
    kind="multiple-choice",
    choices=(Choice(1, "detention", "Detention"), Choice(2, "other", "Something else")),
    multi=True,
    selected=("detention",),
)


def reply_for(sess: object, *messages: Outbound, **kw: object) -> PendingReply:
    updated = getattr(sess, "updated_at", None)
    return PendingReply(messages=messages or (ASK,), language="en", updated_at=updated, **kw)  # type: ignore[arg-type]


async def test_a_kept_reply_comes_back_for_the_same_update_until_sent(
    any_store: IntakeStore,
) -> None:
    saved = session("resp-a", "harms", what="x")
    kept = reply_for(saved, Outbound(text="Noted."), ASK)
    await any_store.commit_turn(
        "resp-a", turn(saved), update_key="u1", channel="t", now=T0, reply=kept
    )
    # Kept, but possibly shown: not owed to the person's next update...
    assert await any_store.load_turn("resp-a", "u2") == (False, saved, None)
    # ...until the channel knows it never reached them.
    await any_store.owe_reply("u1")
    owed = replace(kept, owed_from="u1")
    assert await any_store.load_turn("resp-a", "u2") == (False, saved, owed)
    assert await any_store.load_turn("resp-b", "u2") == (False, None, None)
    seen, draft, again = await any_store.load_turn("resp-a", "u1")
    assert seen and draft == saved and again == kept
    assert again is not None and again.is_current(draft)

    await any_store.remember_messages("resp-a", [5, 6], T0, reply_sent="u1")
    assert await any_store.load_turn("resp-a", "u1") == (True, None, None)
    assert await any_store.load_turn("resp-a", "u2") == (False, saved, None)
    assert await any_store.chat_messages("resp-a", T0) == [5, 6]


async def test_a_reply_sent_without_messages_is_dropped_too(any_store: IntakeStore) -> None:
    saved = session("resp-a", "harms")
    await any_store.commit_turn(
        "resp-a", turn(saved), update_key="u1", channel="t", now=T0, reply=reply_for(saved)
    )
    await any_store.remember_messages("resp-a", [], T0, reply_sent="u1")  # redrawn in place
    assert await any_store.load_turn("resp-a", "u1") == (True, None, None)
    assert await any_store.chat_messages("resp-a", T0) == []


async def test_a_stale_reply_is_forgotten(any_store: IntakeStore) -> None:
    first = session("resp-a", "q2")
    await any_store.commit_turn(
        "resp-a", turn(first), update_key="u1", channel="t", now=T0, reply=reply_for(first)
    )
    later = replace(session("resp-a", "q3"), updated_at=T0 + timedelta(minutes=1))
    await any_store.commit_turn("resp-a", turn(later), update_key="u2", channel="t", now=T0)
    seen, draft, kept = await any_store.load_turn("resp-a", "u1")
    assert seen and kept is not None and not kept.is_current(draft)
    await any_store.forget_reply("u1")
    assert await any_store.load_turn("resp-a", "u1") == (True, None, None)


async def test_no_update_key_or_nothing_to_say_keeps_nothing(any_store: IntakeStore) -> None:
    saved = session("resp-a", "q2")
    await any_store.commit_turn(
        "resp-a", turn(saved), update_key=None, channel="t", now=T0, reply=reply_for(saved)
    )
    await any_store.commit_turn("resp-a", turn(saved), update_key="u1", channel="t", now=T0)
    assert await any_store.load_turn("resp-a", "u1") == (True, None, None)


async def test_the_last_reply_outlives_the_shredded_draft(any_store: IntakeStore) -> None:
    await any_store.commit_turn(
        "resp-a", turn(session("resp-a", "review")), update_key="u1", channel="t", now=T0
    )
    closing = PendingReply(
        messages=(Outbound(text="Your reference code is: K7QM-4TXA-9P"),),
        language="fa",
        end="submitted",
        reference="K7QM-4TXA-9P",
    )
    sent = turn(None, ShredDraft(), account=account("K7QM-4TXA-9P"))
    await any_store.commit_turn("resp-a", sent, update_key="u2", channel="t", now=T0, reply=closing)
    seen, draft, kept = await any_store.load_turn("resp-a", "u2")
    assert seen and draft is None and kept == closing and kept.is_current(None)
    # A new interview started since: the old ending is no longer current.
    await any_store.commit_turn(
        "resp-a", turn(session("resp-a", "language")), update_key="u3", channel="t", now=T0
    )
    _, draft, kept = await any_store.load_turn("resp-a", "u2")
    assert kept is not None and not kept.is_current(draft)


async def test_quick_exit_clears_that_persons_other_kept_replies(any_store: IntakeStore) -> None:
    for who in ("resp-a", "resp-b"):
        saved = session(who, "q2")
        await any_store.commit_turn(
            who, turn(saved), update_key=f"{who}-1", channel="t", now=T0, reply=reply_for(saved)
        )
    neutral = PendingReply(
        messages=(Outbound(text="Thanks, all done."),), language="en", end="exited", erase_chat=True
    )
    exit_turn = turn(None, ShredDraft(), EraseChat())
    await any_store.commit_turn(
        "resp-a", exit_turn, update_key="resp-a-2", channel="t", now=T0, reply=neutral
    )
    assert await any_store.load_turn("resp-a", "resp-a-1") == (True, None, None)
    # The exit's own reply stays until sent: a crash before erasing must still erase.
    assert (await any_store.load_turn("resp-a", "resp-a-2"))[2] == neutral
    assert (await any_store.load_turn("resp-b", "resp-b-1"))[2] is not None


async def test_a_withdrawals_reply_keeps_its_outcome(any_store: IntakeStore) -> None:
    await any_store.commit_turn(
        "resp-a", turn(None, account=account("K7QM-4TXA-9P")), update_key="u1", channel="t", now=T0
    )
    asked = reply_for(None, Outbound(text="Recorded."), withdrawal_code="K7QM-4TXA-9P")
    asked = replace(asked, end="withdrawn")
    effects = (RecordWithdrawal("K7QM-4TXA-9P"), ShredDraft())
    result = await any_store.commit_turn(
        "resp-a", turn(None, *effects), update_key="u2", channel="t", now=T0, reply=asked
    )
    assert result.withdrawals == ("removed",)
    kept = (await any_store.load_turn("resp-a", "u2"))[2]
    assert kept == replace(asked, withdrawals=("removed",))


async def test_a_kept_reply_is_only_ever_given_to_its_own_person(any_store: IntakeStore) -> None:
    saved = session("resp-a", "q2")
    await any_store.commit_turn(
        "resp-a", turn(saved), update_key="u1", channel="t", now=T0, reply=reply_for(saved)
    )
    assert await any_store.load_turn("resp-b", "u1") == (True, None, None)


async def test_kept_replies_expire(any_store: IntakeStore) -> None:
    saved = replace(session("resp-a", "q2"), updated_at=T0)
    await any_store.commit_turn(
        "resp-a", turn(saved), update_key="u1", channel="t", now=T0, reply=reply_for(saved)
    )
    await any_store.expire_drafts(T0 + timedelta(hours=47))
    assert (await any_store.load_turn("resp-a", "u1"))[2] is not None
    await any_store.expire_drafts(T0 + timedelta(hours=49))  # Telegram stopped retrying long ago
    assert await any_store.load_turn("resp-a", "u1") == (True, None, None)
    await any_store.expire_drafts(T0 + timedelta(days=8))
    assert await any_store.load_turn("resp-a", "u1") == (False, None, None)


# -- SQL only: what is on disk ---------------------------------------------------------------


def _reply_blobs(store: SqlIntakeStore) -> int:
    with store.engine.connect() as conn:
        statement = select(func.count()).where(processed_updates.c.reply.is_not(None))
        return int(conn.execute(statement).scalar_one())


async def test_a_kept_reply_is_never_in_clear_on_disk(
    node: NodeKeys, reviewer: ReviewerPrivateKey, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    store = await open_intake_store(None, node, [reviewer.public], data_dir=data)
    try:
        saved = session("resp-a", "harms")
        await store.commit_turn(
            "resp-a", turn(saved), update_key="u1", channel="t", now=T0, reply=reply_for(saved)
        )
        closing = PendingReply(
            messages=(Outbound(text="Your reference code is: " + CANARY),),
            language="en",
            end="submitted",
        )
        await store.commit_turn(
            "resp-a", turn(None), update_key="u2", channel="t", now=T0, reply=closing
        )
        assert _reply_blobs(store) == 1  # the first was cleared by the shred
        assert (await store.load_turn("resp-a", "u2"))[2] == closing
        blobs = files_under(data)
        assert str(data / "intake.db") in blobs
        leaks = [n for n, blob in blobs.items() for f in encodings(CANARY) if f in blob]
        assert leaks == []
        await store.remember_messages("resp-a", [9], T0, reply_sent="u2")
        assert _reply_blobs(store) == 0
    finally:
        await store.close()


async def test_a_damaged_kept_reply_is_not_sent(
    node: NodeKeys, reviewer: ReviewerPrivateKey, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    store = await open_intake_store(None, node, [reviewer.public], data_dir=data)
    try:
        saved = session("resp-a", "q2")
        await store.commit_turn(
            "resp-a", turn(saved), update_key="u1", channel="t", now=T0, reply=reply_for(saved)
        )
        with store.engine.begin() as conn:
            blob = conn.execute(select(processed_updates.c.reply)).scalar_one()
            conn.execute(update(processed_updates).values(reply=blob[:-1] + bytes([blob[-1] ^ 1])))
        assert await store.load_turn("resp-a", "u1") == (True, None, None)
    finally:
        await store.close()
