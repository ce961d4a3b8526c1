"""The intake store's behaviour, the same on SQLite, PostgreSQL and the in-memory fake."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from flows.types import RecordWithdrawal, ShredDraft
from storage.errors import CorruptDraft, FileTooLarge
from storage.intake.memory import MemoryIntakeStore
from storage.intake.store import IntakeStore, SqlIntakeStore
from storage.intake.tables import sessions
from tests.intake_support import T0, account, any_store, node, reviewer, session, turn

__all__ = ["any_store", "node", "reviewer"]  # fixtures used below


async def test_a_saved_turn_loads_back_unchanged(any_store: IntakeStore) -> None:
    saved = session("resp-a", "q2", what="Ich wurde verhaftet — نعم")
    result = await any_store.commit_turn(
        "resp-a", turn(saved), update_key="u1", channel="telegram", now=T0
    )
    assert result
    assert await any_store.load_session("resp-a") == saved
    assert await any_store.load_session("someone-else") is None


async def test_a_repeated_update_is_applied_once(any_store: IntakeStore) -> None:
    first = session("resp-a", "q2", what="first")
    assert await any_store.commit_turn("resp-a", turn(first), update_key="u1", channel="t", now=T0)
    again = await any_store.commit_turn(
        "resp-a", turn(session("resp-a", "q3", what="second")), update_key="u1", channel="t", now=T0
    )
    assert not again
    assert (await any_store.load_turn("resp-a", "u1"))[0]
    assert not (await any_store.load_turn("resp-a", "u2"))[0]
    assert await any_store.load_session("resp-a") == first


async def test_two_concurrent_commits_of_one_update_apply_exactly_one(
    any_store: IntakeStore,
) -> None:
    a = session("resp-a", "q2", what="from a")
    b = session("resp-a", "q2", what="from b")
    results = await asyncio.gather(
        any_store.commit_turn("resp-a", turn(a), update_key="same", channel="t", now=T0),
        any_store.commit_turn("resp-a", turn(b), update_key="same", channel="t", now=T0),
    )
    assert sorted(bool(r) for r in results) == [False, True]
    winner = a if results[0] else b
    assert await any_store.load_session("resp-a") == winner


async def test_many_people_at_once_each_keep_their_own_answers(any_store: IntakeStore) -> None:
    people = [session(f"resp-{i}", "q2", what=f"answer {i}") for i in range(60)]
    results = await asyncio.gather(
        *(
            any_store.commit_turn(p.respondent, turn(p), update_key=f"u{i}", channel="t", now=T0)
            for i, p in enumerate(people)
        )
    )
    assert all(results)
    for p in people:
        assert await any_store.load_session(p.respondent) == p


async def test_quick_exit_and_an_ended_session_leave_no_draft(any_store: IntakeStore) -> None:
    for who in ("resp-a", "resp-b"):
        await any_store.commit_turn(
            who, turn(session(who, what="x")), update_key=f"{who}-1", channel="t", now=T0
        )
    await any_store.commit_turn(
        "resp-a", turn(session("resp-a"), ShredDraft()), update_key="a-2", channel="t", now=T0
    )
    await any_store.commit_turn("resp-b", turn(None), update_key="b-2", channel="t", now=T0)
    assert await any_store.load_session("resp-a") is None
    assert await any_store.load_session("resp-b") is None


async def test_drafts_expire_after_the_configured_days(any_store: IntakeStore) -> None:
    await any_store.commit_turn("old", turn(session("old")), update_key="1", channel="t", now=T0)
    later = T0 + timedelta(days=3)
    await any_store.commit_turn("new", turn(session("new")), update_key="2", channel="t", now=later)
    assert await any_store.expire_drafts(T0 + timedelta(days=6)) == 0
    assert await any_store.expire_drafts(T0 + timedelta(days=7, seconds=1)) == 1
    assert await any_store.load_session("old") is None
    assert await any_store.load_session("new") == session("new")


async def test_withdrawal_removes_an_unsent_account_or_keeps_a_request(
    any_store: IntakeStore,
) -> None:
    submitted = await any_store.commit_turn(
        "resp-a", turn(None, account=account("K7-QX2P")), update_key="1", channel="t", now=T0
    )
    assert submitted.account_id
    # Typed later, from another chat, in lower case with spaces: still the same code.
    removed = await any_store.commit_turn(
        "resp-z", turn(None, RecordWithdrawal("k7 qx2p")), update_key="2", channel="t", now=T0
    )
    assert removed.withdrawals == ("removed",)
    unknown = await any_store.commit_turn(
        "resp-z", turn(None, RecordWithdrawal("NOPE-123")), update_key="3", channel="t", now=T0
    )
    assert unknown.withdrawals == ("requested",)


async def test_withdrawal_attempts_are_rate_limited_per_person(any_store: IntakeStore) -> None:
    async def attempt(who: str, n: int, minutes: int) -> tuple[str, ...]:
        result = await any_store.commit_turn(
            who,
            turn(None, RecordWithdrawal(f"CODE-{n}")),
            update_key=f"{who}-{n}",
            channel="t",
            now=T0 + timedelta(minutes=minutes),
        )
        return result.withdrawals

    for n in range(5):
        assert await attempt("guesser", n, n) == ("requested",)
    assert await attempt("guesser", 5, 10) == ("rate-limited",)
    assert await attempt("someone-else", 6, 10) == ("requested",)
    assert await attempt("guesser", 7, 61) == ("requested",)


async def test_a_file_over_the_limit_is_refused(any_store: IntakeStore) -> None:
    with pytest.raises(FileTooLarge):
        await any_store.store_file("resp-a", io.BytesIO(b"v" * 5001), "voice", "audio/ogg", 5000)
    ref = await any_store.store_file("resp-a", io.BytesIO(b"v" * 5000), "voice", "audio/ogg", 5000)
    assert (ref.size, ref.kind, ref.mime_type) == (5000, "voice", "audio/ogg")


async def test_chat_message_ids_are_kept_for_48_hours(any_store: IntakeStore) -> None:
    await any_store.remember_messages("resp-a", [10, 11], T0)
    await any_store.remember_messages("resp-a", [12], T0 + timedelta(hours=1))
    await any_store.remember_messages("resp-b", [99], T0)
    assert await any_store.chat_messages("resp-a", T0) == [10, 11, 12]
    assert await any_store.chat_messages("resp-a", T0 + timedelta(minutes=30)) == [12]
    await any_store.remember_messages("resp-b", [100], T0 + timedelta(hours=48, minutes=30))
    assert await any_store.chat_messages("resp-a", T0 - timedelta(days=1)) == [12]


def damage(store: IntakeStore, respondent: str) -> None:
    """Flip a byte of the stored draft (the fake has a method for it)."""
    if isinstance(store, MemoryIntakeStore):
        store.corrupt(respondent)
        return
    assert isinstance(store, SqlIntakeStore)
    with store.engine.begin() as conn:
        blob = conn.execute(
            select(sessions.c.blob).where(sessions.c.respondent == respondent)
        ).scalar_one()
        flipped = blob[:-1] + bytes([blob[-1] ^ 0x40])
        conn.execute(
            update(sessions).where(sessions.c.respondent == respondent).values(blob=flipped)
        )


async def test_a_damaged_draft_is_reported_and_can_be_started_over(any_store: IntakeStore) -> None:
    await any_store.commit_turn(
        "resp-a", turn(session("resp-a", what="x")), update_key="1", channel="t", now=T0
    )
    damage(any_store, "resp-a")
    with pytest.raises(CorruptDraft):
        await any_store.load_session("resp-a")
    fresh = session("resp-a", "start")
    assert await any_store.commit_turn("resp-a", turn(fresh), update_key="2", channel="t", now=T0)
    assert await any_store.load_session("resp-a") == fresh
