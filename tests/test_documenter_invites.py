"""Documenter invites: single use, expiry, revocation, rate limiting, deep link, pseudonym.

Every trust decision here is tested as the attack it stops: a code used twice, an old
code, a revoked documenter still recording, codes guessed through the chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.documenter_access import BIND_MESSAGES
from bot.node import Node
from flows.types import Inbound
from storage.intake.documenters import MAX_WRONG_CODES, code_hash, documenter_pseudonym
from tests.documenter_support import interview, open_test_node, outbox_metadata, texts

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    opened = await open_test_node(tmp_path)
    yield opened
    await opened.close()


async def invite(node: Node, *, days: int = 14, note: str = "") -> tuple[str, str]:
    code: str
    pseudonym: str
    code, pseudonym = await node.store.issue_invite(note=note, days=days, now=NOW)
    return code, pseudonym


async def bind(node: Node, chat: str, code: str, channel: str = "telegram") -> list[str]:
    reply = await node.dispatcher.handle(
        channel, chat, Inbound(kind="text", text=f"/documenter {code}"), update_key=None, now=NOW
    )
    return texts(reply)


async def test_a_code_binds_once_and_a_second_chat_is_refused(node: Node) -> None:
    code, _ = await invite(node)
    assert (await bind(node, "a", code))[:1] == [BIND_MESSAGES["bound"]]
    assert await bind(node, "b", code) == [BIND_MESSAGES["used"]]
    # The chat that holds it needs no code any more, and is told so.
    assert await bind(node, "a", code) == [BIND_MESSAGES["already"]]
    assert await node.dispatcher.is_documenter("telegram", "a")
    assert not await node.dispatcher.is_documenter("telegram", "b")


async def test_a_bound_chat_runs_the_documenter_flow_and_others_the_survivor_flow(
    node: Node,
) -> None:
    code, _ = await invite(node)
    await bind(node, "a", code)
    documenter = await node.dispatcher.handle(
        "telegram", "a", Inbound(kind="start"), update_key=None, now=NOW
    )
    survivor = await node.dispatcher.handle(
        "telegram", "b", Inbound(kind="start"), update_key=None, now=NOW
    )
    session_a = await node.store.load_session(node.dispatcher.respondent("telegram", "a"))
    session_b = await node.store.load_session(node.dispatcher.respondent("telegram", "b"))
    assert session_a.flow == "documenter" and session_b.flow == "survivor"
    assert documenter.messages and survivor.messages


async def test_an_expired_code_is_refused_and_stays_unused(node: Node) -> None:
    code, _ = await invite(node, days=1)
    late = NOW + timedelta(days=1, seconds=1)
    reply = await node.dispatcher.handle(
        "telegram", "a", Inbound(kind="text", text=f"/documenter {code}"), update_key=None, now=late
    )
    assert texts(reply) == [BIND_MESSAGES["expired"]]
    (listed,) = await node.store.list_documenters()
    assert listed.used_at is None


async def test_wrong_codes_are_rate_limited_per_person(node: Node) -> None:
    code, _ = await invite(node)
    for n in range(MAX_WRONG_CODES):
        assert await bind(node, "guesser", f"AAAA-BBBB-CCCC-DDD{n}") == [BIND_MESSAGES["wrong"]]
    # Even the right code is refused now: guessing through the chat gains nothing.
    assert await bind(node, "guesser", code) == [BIND_MESSAGES["rate-limited"]]
    # Another person is not held back by the guesser.
    assert (await bind(node, "someone", code))[:1] == [BIND_MESSAGES["bound"]]


async def test_the_limit_lifts_after_an_hour(node: Node) -> None:
    code, _ = await invite(node)
    for n in range(MAX_WRONG_CODES):
        await bind(node, "g", f"WRONG{n}")
    later = NOW + timedelta(hours=1, seconds=1)
    reply = await node.dispatcher.handle(
        "telegram",
        "g",
        Inbound(kind="text", text=f"/documenter {code}"),
        update_key=None,
        now=later,
    )
    assert texts(reply)[:1] == [BIND_MESSAGES["bound"]]


async def test_the_deep_link_binds_the_code(node: Node) -> None:
    code, _ = await invite(node)
    link = Inbound(kind="start", text="doc-" + code.replace("-", ""))
    reply = await node.dispatcher.handle("telegram", "a", link, update_key=None, now=NOW)
    assert texts(reply)[:1] == [BIND_MESSAGES["bound"]]
    assert await node.dispatcher.is_documenter("telegram", "a")


async def test_the_command_without_a_code_says_how(node: Node) -> None:
    assert await bind(node, "a", "") == [BIND_MESSAGES["no-code"]]


async def test_an_answer_starting_with_the_word_is_an_answer(node: Node) -> None:
    code, _ = await invite(node)
    await bind(node, "a", code)
    await node.dispatcher.handle("telegram", "a", Inbound(kind="start"), update_key=None, now=NOW)
    reply = await node.dispatcher.handle(
        "telegram",
        "a",
        Inbound(kind="text", text="documenter notes follow"),
        update_key=None,
        now=NOW,
    )
    assert BIND_MESSAGES["wrong"] not in texts(reply)


async def test_revocation_shreds_the_draft_and_stops_the_interview(node: Node) -> None:
    code, pseudonym = await invite(node)
    await bind(node, "a", code)
    await node.dispatcher.handle("telegram", "a", Inbound(kind="start"), update_key=None, now=NOW)
    respondent = node.dispatcher.respondent("telegram", "a")
    assert await node.store.load_session(respondent) is not None
    assert await node.store.revoke_documenter(pseudonym, NOW) is True
    assert await node.store.load_session(respondent) is None
    assert not await node.dispatcher.is_documenter("telegram", "a")
    # The revoked code cannot be bound again, by anyone.
    assert await bind(node, "b", code) == [BIND_MESSAGES["revoked"]]


async def test_a_draft_revoked_mid_interview_is_refused_when_sent(node: Node) -> None:
    """The attack: the store's last check, even if a documenter's draft survived revocation."""
    code, pseudonym = await invite(node)
    await bind(node, "a", code)
    respondent = node.dispatcher.respondent("telegram", "a")
    # Revoke between two turns without shredding (as a race would leave it).
    import sqlalchemy as sa

    from storage.intake.tables import documenters

    with pytest.raises(_AtReview):
        await interview(node, "telegram", "a", NOW, stop_before_send(node, respondent))
    with node.store.engine.begin() as conn:
        conn.execute(sa.update(documenters).values(revoked_at=NOW))
    sent = await node.dispatcher.handle(
        "telegram", "a", Inbound(kind="text", text="1"), update_key=None, now=NOW
    )
    assert sent.reference is None
    assert outbox_metadata(node.settings.data_dir) == []
    assert await node.store.load_session(respondent) is None
    assert pseudonym  # never reached the queue


def stop_before_send(node: Node, respondent: str):  # type: ignore[no-untyped-def]
    """An answerer that stops (by raising) when the review asks to send."""
    from tests.console_driver import cooperative

    answer = cooperative("words")

    def wrapped(ask):  # type: ignore[no-untyped-def]
        if ask["step"] == "review":
            raise _AtReview
        return answer(ask)

    return wrapped


class _AtReview(Exception):
    pass


@pytest.mark.parametrize("channel", ["telegram", "console"])
async def test_the_pseudonym_comes_from_the_invite_on_every_channel(
    node: Node, channel: str
) -> None:
    code, pseudonym = await invite(node, note="Field team north")
    assert pseudonym == documenter_pseudonym(node.keys, code_hash(code))
    await bind(node, "person", code, channel=channel)
    reply, _asked = await interview(node, channel, "person", NOW)
    assert reply.end == "submitted" and reply.reference
    (meta,) = outbox_metadata(node.settings.data_dir)
    assert meta["documenter"] == pseudonym and meta["mode"] == "documenter"
    (listed,) = await node.store.list_documenters()
    assert listed.accounts == 1 and listed.note == "Field team north"


async def test_neither_code_nor_note_is_stored_in_the_clear(node: Node) -> None:
    code, _ = await invite(node, note="Amina's team, Kabul")
    await bind(node, "a", code)
    raw = b"".join(p.read_bytes() for p in node.settings.data_dir.rglob("intake.db*"))
    assert code.encode() not in raw and code.replace("-", "").encode() not in raw
    assert b"Amina" not in raw and "Amina".encode("utf-16-le") not in raw


@pytest.mark.parametrize("typed", ["/موثق {code}", "موثق/ {code}", "/documentaliste {code}"])
async def test_the_local_word_binds_before_any_language_was_chosen(node: Node, typed: str) -> None:
    code, _ = await invite(node)
    reply = await node.dispatcher.handle(
        "telegram",
        "a",
        Inbound(kind="text", text=typed.format(code=code)),
        update_key=None,
        now=NOW,
    )
    assert texts(reply)[:1] == [BIND_MESSAGES["bound"]]


async def test_a_repeated_update_counts_one_wrong_code(node: Node) -> None:
    for n in range(MAX_WRONG_CODES + 2):
        # Telegram delivers the same update again and again: it is one attempt.
        await node.dispatcher.handle(
            "telegram",
            "r",
            Inbound(kind="text", text="/documenter WRONGCODE"),
            update_key="u1",
            now=NOW,
        )
        await node.dispatcher.remember_sent("telegram", "r", [n + 1], NOW, update_key="u1")
    code, _ = await invite(node)
    assert (await bind(node, "r", code))[:1] == [BIND_MESSAGES["bound"]]


def test_the_invite_prints_a_deep_link_once_the_bot_name_is_known(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bot.cli import main
    from bot.cli_documenters import remember_bot_username

    env = {"ATTEST_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    before = runner.invoke(main, ["documenters", "invite"], env=env)
    assert before.exit_code == 0, before.output
    assert "t.me" not in before.output
    remember_bot_username(tmp_path, "attest_demo_bot")
    after = runner.invoke(main, ["documenters", "invite", "--note", "x" * 201], env=env)
    assert after.exit_code != 0 and "too long" in after.output
    after = runner.invoke(main, ["documenters", "invite", "--expires", "2"], env=env)
    code = after.output.split("): ")[1].split()[0]
    assert f"https://t.me/attest_demo_bot?start=doc-{code.replace('-', '')}" in after.output
    revoked = runner.invoke(main, ["documenters", "revoke", "doc-000000000000"], env=env)
    assert revoked.exit_code != 0 and "No documenter" in revoked.output
