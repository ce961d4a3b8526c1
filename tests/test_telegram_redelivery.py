"""A reply is never lost between saving a turn and sending it: real PTB, fake Telegram.

The turn is committed, then the reply does not go out (Telegram refuses it, or the
process dies). When Telegram delivers the same update again, the person gets that reply
once; a third delivery sends nothing; a reply the person has moved past is not sent.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.crypto import NodeKeys, generate_reviewer_key, withdrawal_hash
from storage.intake.memory import MemoryIntakeStore
from storage.intake.store import SqlIntakeStore, open_intake_store
from storage.intake.tables import outbox, processed_updates
from tests.fakebotapi import FakeBotAPI
from tests.telegram_harness import CHAT, Harness, open_harness
from tests.test_telegram_channel import autopilot_until

ROUTE_QUESTION = "or are you writing for someone else"  # asked after the safety check
REFUSED = {"code": 400, "description": "Bad Request: message can't be sent"}


class Crash(BaseException):
    """The process dying: not an Exception, so no handler on the way catches it."""


class DiesAfterCommit:
    """The store of a process that dies right after its next turn is durable."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.armed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def commit_turn(self, *args: Any, **kwargs: Any) -> Any:
        result = await self._inner.commit_turn(*args, **kwargs)
        if self.armed:
            self.armed = False
            raise Crash()
        return result


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    node = NodeKeys.generate()
    if request.param == "memory":
        yield MemoryIntakeStore(node)
        return
    opened = await open_intake_store(
        None, node, [generate_reviewer_key("x25519").public], data_dir=tmp_path / "data"
    )
    yield opened
    await opened.close()


@pytest.fixture
async def harness(store: Any) -> AsyncIterator[Harness]:
    h = await open_harness(store=store, node=store_node(store))
    yield h
    await h.app.shutdown()


def store_node(store: Any) -> NodeKeys:
    return store.node if isinstance(store, MemoryIntakeStore) else store._rows.node


async def kept_replies(store: Any) -> int:
    """How many replies the store still keeps, waiting to be sent."""
    if isinstance(store, MemoryIntakeStore):
        return len(store.replies)
    assert isinstance(store, SqlIntakeStore)
    with store.engine.connect() as conn:
        statement = select(func.count()).where(processed_updates.c.reply.is_not(None))
        return int(conn.execute(statement).scalar_one())


async def deliver(h: Harness, update: dict[str, Any]) -> list[str]:
    """Deliver `update` and return what the person now sees that is new."""
    before = len(h.api.messages.get(CHAT, {}))
    await h.deliver(update)
    return h.new_texts(CHAT, before)


async def at_safety(h: Harness) -> dict[str, Any]:
    """Start and choose English; the update answering the safety check with Yes."""
    await h.say("/start")
    await h.press("English")
    message_id, buttons = h.last_keyboard()
    yes = next(data for label, data in buttons if label == "Yes")
    return h.api.press(CHAT, message_id, yes)


async def test_a_reply_telegram_refused_comes_with_the_update_again(harness: Harness) -> None:
    update = await at_safety(harness)
    harness.api.fail("sendMessage", **REFUSED)
    assert await deliver(harness, update) == []  # saved, but the person saw nothing
    assert await harness.state() == "route"

    again = await deliver(harness, update)
    assert len(again) == 1 and ROUTE_QUESTION in again[0]
    assert await deliver(harness, update) == []  # a third time: nothing more
    assert sum(ROUTE_QUESTION in t for t in harness.api.bot_texts(CHAT)) == 1
    assert (await harness.answers())["safety"].value == "yes"  # answered once
    assert await kept_replies(harness.store) == 0


async def test_after_a_crash_before_sending_the_restarted_bot_sends_the_reply(
    store: Any,
) -> None:
    node, api = store_node(store), FakeBotAPI()
    dying = await open_harness(store=DiesAfterCommit(store), node=node, api=api)
    update = await at_safety(dying)
    assert isinstance(dying.store, DiesAfterCommit)
    dying.store.armed = True
    with pytest.raises(Crash):
        await dying.deliver(update)
    assert await dying.state() == "route"  # the answer was saved before the crash

    restarted = await open_harness(store=store, node=node, api=api)
    try:
        again = await deliver(restarted, update)
        assert len(again) == 1 and ROUTE_QUESTION in again[0]
        assert await deliver(restarted, update) == []
        # The person's next answer is taken as the answer to the question they now see.
        await restarted.press("It happened to me")
        assert (await restarted.answers())["route"].status == "answered"
    finally:
        await restarted.app.shutdown()


async def test_the_reference_code_of_a_lost_last_reply_is_sent_again(store: Any) -> None:
    node, api = store_node(store), FakeBotAPI()
    dying = await open_harness(store=DiesAfterCommit(store), node=node, api=api)
    await dying.say("/start")
    await autopilot_until(dying, "review")
    message_id, buttons = dying.last_keyboard()
    send = next(data for label, data in buttons if "Send my account" in label)
    update = dying.api.press(CHAT, message_id, send)
    assert isinstance(dying.store, DiesAfterCommit)
    dying.store.armed = True
    with pytest.raises(Crash):
        await dying.deliver(update)
    assert await dying.state() is None  # sent and shredded; the code is nowhere in clear
    assert not any("reference code is" in t for t in api.bot_texts(CHAT))

    restarted = await open_harness(store=store, node=node, api=api)
    try:
        again = await deliver(restarted, update)
        [code] = re.findall(r"reference code is: (\S+)", "\n".join(again))
        # It is the code of the account that was sent: it can withdraw that account.
        assert withdrawal_hash(node.withdrawal_secret(code)) == await withdrawal_tag(store)
        assert await deliver(restarted, update) == []
        assert sum("reference code is" in t for t in api.bot_texts(CHAT)) == 1
        assert await kept_replies(store) == 0
    finally:
        await restarted.app.shutdown()


async def withdrawal_tag(store: Any) -> str:
    if isinstance(store, MemoryIntakeStore):
        [account] = store.outbox
        return str(account.metadata["withdrawal_hash"])
    with store.engine.connect() as conn:
        return str(conn.execute(select(outbox.c.withdrawal_tag)).scalar_one())


async def test_a_reply_the_person_has_moved_past_is_not_sent(harness: Harness) -> None:
    update = await at_safety(harness)
    harness.api.fail("sendMessage", **REFUSED)
    await deliver(harness, update)
    said = await harness.say("hello?")  # they write again: the question is asked again
    assert said and ROUTE_QUESTION in said[-1]
    await harness.press("It happened to me")
    state = await harness.state()

    assert await deliver(harness, update) == []  # the old question is not asked again
    assert await harness.state() == state
    assert await kept_replies(harness.store) == 0


async def test_quick_exit_leaves_no_kept_reply(harness: Harness) -> None:
    update = await at_safety(harness)
    harness.api.fail("sendMessage", **REFUSED)
    await deliver(harness, update)
    assert await kept_replies(harness.store) == 1
    await harness.say("/exit")
    assert [m.text for m in harness.api.visible(CHAT)] == ["Thanks, all done."]
    assert await kept_replies(harness.store) == 0
    assert await deliver(harness, update) == []  # and nothing comes back from before


async def test_a_quick_exit_cut_short_by_a_crash_still_erases_the_chat(store: Any) -> None:
    node, api = store_node(store), FakeBotAPI()
    dying = await open_harness(store=DiesAfterCommit(store), node=node, api=api)
    await at_safety(dying)
    update = api.text(CHAT, "/exit")
    assert isinstance(dying.store, DiesAfterCommit)
    dying.store.armed = True
    with pytest.raises(Crash):
        await dying.deliver(update)
    assert len(api.visible(CHAT)) > 1  # nothing erased yet

    restarted = await open_harness(store=store, node=node, api=api)
    try:
        await restarted.deliver(update)
        assert [m.text for m in api.visible(CHAT)] == ["Thanks, all done."]
        assert await kept_replies(store) == 0
    finally:
        await restarted.app.shutdown()


async def test_a_toggle_delivered_twice_is_redrawn_once(harness: Harness) -> None:
    await harness.say("/start")
    await autopilot_until(harness, "harms")
    message_id, buttons = harness.last_keyboard()
    update = harness.api.press(CHAT, message_id, buttons[0][1])
    sent = len(harness.api.called("sendMessage"))
    await harness.deliver(update)
    await harness.deliver(update)
    assert len(harness.api.called("editMessageText")) == 1
    assert len(harness.api.called("sendMessage")) == sent  # redrawn in place, nothing new


async def test_a_file_answer_delivered_again_is_not_downloaded_again(tmp_path: Path) -> None:
    node, api, store = NodeKeys.generate(), FakeBotAPI(), MemoryIntakeStore()
    kw: dict[str, Any] = {"node": node, "api": api, "flow": "telegram-media"}
    dying = await open_harness(store=DiesAfterCommit(store), max_bytes=64 * 1024, **kw)
    await dying.say("/start")
    await dying.say("It happened last spring.")
    assert await dying.state() == "photo"
    update = api.photo(CHAT, b"\xff\xd8" + b"p" * 500)
    assert isinstance(dying.store, DiesAfterCommit)
    dying.store.armed = True
    with pytest.raises(Crash):
        await dying.deliver(update)
    assert await dying.state() == "place"

    restarted = await open_harness(store=store, max_bytes=64 * 1024, **kw)
    try:
        again = await deliver(restarted, update)
        # The place question, not "can't take files here" (the place step takes none).
        assert len(again) == 1 and "Where did it happen" in again[0]
        assert len(api.called("getFile")) == 1
        assert len((await restarted.answers())["photo"].files) == 1
    finally:
        await restarted.app.shutdown()


async def test_the_same_update_twice_at_once_is_answered_once(harness: Harness) -> None:
    update = await at_safety(harness)
    before = len(harness.api.messages.get(CHAT, {}))
    await asyncio.gather(harness.deliver(update), harness.deliver(update))
    said = harness.new_texts(CHAT, before)
    assert len(said) == 1 and ROUTE_QUESTION in said[0]


async def test_a_reply_that_fails_after_the_save_is_tried_again_not_apologised_for(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polling: an error while replying (the answer is saved) must not say 'not saved'."""
    update = await at_safety(harness)
    channel = harness.channel
    real = channel._send_reply
    failures = [RuntimeError("disk hiccup")]

    async def flaky(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        await real(*args, **kwargs)

    monkeypatch.setattr(channel, "_send_reply", flaky)
    said = await deliver(harness, update)
    assert len(said) == 1 and ROUTE_QUESTION in said[0]  # the kept reply, sent on the retry
    assert not any("not saved" in t.lower() for t in harness.api.bot_texts(CHAT))
    assert (await harness.answers())["safety"].value == "yes"
    assert await kept_replies(harness.store) == 0


async def test_a_reply_that_could_not_reach_telegram_is_sent_when_it_can(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polling: Telegram unreachable for a while; the kept reply goes out on a later try."""
    import bot.telegram.app as app_module

    monkeypatch.setattr(app_module, "REPLY_RETRY_WAITS", (0.0, 0.0))
    update = await at_safety(harness)
    # Every attempt of the first try fails (the harness retries 4 times), then it works.
    harness.api.fail("sendMessage", code=502, description="Bad Gateway", times=4)
    said = await deliver(harness, update)
    assert len(said) == 1 and ROUTE_QUESTION in said[0]
    assert not any("not saved" in t.lower() for t in harness.api.bot_texts(CHAT))
    assert await kept_replies(harness.store) == 0


async def test_a_reply_telegram_refuses_is_not_retried_in_a_loop(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Bad Request will not change by waiting: kept for a redelivery, not retried now."""
    import bot.telegram.app as app_module

    monkeypatch.setattr(app_module, "REPLY_RETRY_WAITS", (0.0, 0.0))
    update = await at_safety(harness)
    harness.api.fail("sendMessage", **REFUSED)
    assert await deliver(harness, update) == []
    refused = [c for c in harness.api.calls if c.method == "sendMessage" and not c.ok]
    assert len(refused) == 1
    assert await kept_replies(harness.store) == 1


async def reach_recall(harness: Harness) -> None:
    await harness.say("/start")
    await autopilot_until(harness, "recall")


def refused_texts(api: FakeBotAPI) -> list[str]:
    return [c.params["text"] for c in api.calls if c.method == "sendMessage" and not c.ok]


async def test_a_question_that_never_arrived_comes_before_the_next_answer(
    harness: Harness,
) -> None:
    """A reply given up (refused, or Telegram unreachable past the retries) is owed."""
    await reach_recall(harness)
    harness.api.fail("sendMessage", code=400, description="Bad Request: oops")
    assert await harness.say("What happened to me.") == []  # the reply was refused
    refused = refused_texts(harness.api)
    assert (
        len(refused) == 1 and await harness.state() == "more"
    )  # "add more, or done?" never arrived
    # Written without seeing that question: not added to the account; the question comes.
    said = await harness.say("hello? are you there?")
    assert said == refused
    assert (await harness.answers())["recall"].value == "What happened to me."
    await harness.say("And one more thing.")  # now an answer: added, as the question says
    assert (await harness.answers())["recall"].value == (
        "What happened to me.\n\nAnd one more thing."
    )


async def test_an_owed_question_is_offered_again_once_only(harness: Harness) -> None:
    await reach_recall(harness)
    harness.api.fail("sendMessage", code=400, description="Bad Request: oops")
    await harness.say("What happened to me.")
    harness.api.fail("sendMessage", code=400, description="Bad Request: oops")
    assert await harness.say("hello?") == []  # refused again
    # Not held back a third time: what the person writes counts again.
    await harness.say("And one more thing.")
    assert (await harness.answers())["recall"].value.endswith("And one more thing.")


async def test_commands_work_while_a_question_is_owed(harness: Harness) -> None:
    await reach_recall(harness)
    harness.api.fail("sendMessage", code=400, description="Bad Request: oops")
    await harness.say("What happened to me.")
    await harness.say("/exit")
    assert await harness.state() is None  # the draft is gone at once
    assert all(m.deleted for m in harness.api.messages[CHAT].values() if not m.from_bot)
    assert await kept_replies(harness.store) == 0


async def test_a_quick_exit_whose_last_line_was_refused_is_not_run_again(
    harness: Harness,
) -> None:
    await reach_recall(harness)
    harness.api.fail("sendMessage", code=400, description="Bad Request: oops")
    await harness.say("/exit")  # erased, but the neutral line was refused
    assert await harness.state() is None
    said = await harness.say("hello")  # later: a new start, nothing erased again
    assert said == ["Which language would you like to use?"]
    assert not harness.api.messages[CHAT][max(harness.api.messages[CHAT])].deleted
    assert await kept_replies(harness.store) == 0


async def test_a_reply_partly_shown_is_not_owed(harness: Harness) -> None:
    """Only a reply nothing of which reached the person holds their next message back."""
    await harness.say("/start")
    harness.api.fail("sendMessage", code=400, description="Bad Request: oops")  # the welcome
    said = await harness.press("English")
    assert said and "privately" in said[-1]  # the rest, and the question, arrived
    again = await harness.say("hello")  # read as usual: a gentle re-prompt of that question
    assert not any(text.startswith("Hello, and thank you") for text in again)
    assert again and "privately" in again[-1]
    assert await kept_replies(harness.store) == 1  # kept for a redelivery, but not owed
