"""One Telegram update in, one durable turn, its reply out: the channel's whole job.

`TelegramChannel.process` is what both the polling handlers and the webhook endpoint call.
It never sends anything before the dispatcher has committed the turn, so a crash or a
Bot API failure while replying loses no answer. The reply is saved with the turn, and
dropped only once it went out whole and its message ids are kept: an update delivered
again after a crash gets that reply, not silence. Per chat, updates run one after another
in this process (files are downloaded before the turn, so ordering must cover the whole
update, not only the turn); across processes the store's lock orders the turns.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import weakref
from asyncio import Lock, Task, create_task, gather
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram import Bot, Update

from bot.dispatcher import Reply
from bot.telegram.erase import erase_messages, older_messages_may_remain
from bot.telegram.keyboards import ButtonSigner, keyboard_for
from bot.telegram.media import MediaPolicy, TooLarge, take_in
from bot.telegram.notes import (
    EDITED,
    FILE_FAILED,
    LOCATION,
    MEDIA_NOT_HERE,
    NOT_PRIVATE,
    NOT_SAVED,
    OLDER_REMAIN,
    TOO_LARGE,
    UNSUPPORTED,
    VOICE_ONLY,
    say,
)
from bot.telegram.sender import Part, RetryPolicy, Sender
from bot.telegram.updates import Event, read_update
from flows.i18n import translator
from flows.types import Inbound, Outbound

log = logging.getLogger(__name__)

CHANNEL = "telegram"
REFUSED_CHOICE = ""  # no option has an empty id, so the engine re-prompts
NOTE_ONLY = frozenset({"edited", "location", "unsupported"})
RECENT_NOTES = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


class EntropyPool:
    """Operating-system randomness read in blocks (one system call per 256 turns).

    The engine takes fresh randomness with every turn (reference codes come from it).
    It must be the operating system's CSPRNG, but a system call per turn is measurable,
    so bytes are read 4 KiB at a time and each slice handed out once. A forked child
    refills rather than reuse its parent's bytes.
    """

    def __init__(self, block: int = 4096) -> None:
        self._block = block
        self._buffer = b""
        self._at = 0
        self._pid = -1

    def take(self, size: int = 16) -> bytes:
        if self._pid != os.getpid() or self._at + size > len(self._buffer):
            self._buffer, self._at, self._pid = os.urandom(self._block), 0, os.getpid()
        chunk = self._buffer[self._at : self._at + size]
        self._at += size
        return chunk


class ReplyFailed(Exception):
    """The turn is saved, but sending its reply failed (the reply is kept for a retry).

    Carries the original error's type name only: its message could quote the person.
    """


@contextmanager
def _after_save() -> Iterator[None]:
    """Around sending a saved turn's reply: any failure is ReplyFailed (the turn is saved)."""
    try:
        yield
    except ReplyFailed:
        raise
    except Exception as exc:
        raise ReplyFailed(type(exc).__name__) from exc


@dataclass(frozen=True)
class ChannelOptions:
    """How the channel behaves; defaults are the production ones."""

    media: MediaPolicy = field(default_factory=MediaPolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    flow: str | None = None  # the flow new conversations start (None: the default flow)


class TelegramChannel:
    """Runs Telegram updates through the dispatcher and sends what it says."""

    def __init__(
        self,
        dispatcher: Any,
        signer: ButtonSigner,
        options: ChannelOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.dispatcher = dispatcher
        self.signer = signer
        self.options = options or ChannelOptions()
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[int, Lock] = weakref.WeakValueDictionary()
        self._left: set[int] = set()
        self._entropy = EntropyPool()
        self._remembering: dict[int, Task[None]] = {}
        # Updates answered with a note only (no turn, so the store cannot recognise them).
        self._noted: OrderedDict[int, None] = OrderedDict()

    def _lock(self, chat_id: int) -> Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = Lock()
            self._locks[chat_id] = lock
        return lock

    async def process(self, update: Update, bot: Bot) -> None:
        """Handle one update completely: turn saved, reply sent (or given up after retries)."""
        event = read_update(update)
        if event.kind == "ignore" or event.chat_id is None:
            return
        sender = Sender(bot, self.options.retry)
        if event.kind == "not-private":
            await self._leave(sender, event)
            return
        if event.callback_id is not None:
            # Always answered, or the person's button keeps spinning.
            await sender.answer_button(event.callback_id)
        key = f"{CHANNEL}:{update.update_id}"
        if event.kind in NOTE_ONLY and update.update_id in self._noted:
            return  # delivered again: the note was already sent, and nothing is stored
        # For a turn, the person's lock (across processes too) covers the reply until it
        # is reported sent: the same update handed to another process at once waits, then
        # finds its reply sent, instead of sending it again. Notes store no turn.
        turn_lock = (
            nullcontext()
            if event.kind in NOTE_ONLY
            else self.dispatcher.hold(CHANNEL, event.chat_id)
        )
        async with self._lock(event.chat_id), turn_lock:
            await self._run(sender, event, key)
            # The reply is out; the update counts as done (webhook: 200) only once the
            # message ids are durable too, so a crash now cannot leave messages /exit
            # won't erase.
            await self._remembered(event.chat_id)
        if event.kind in NOTE_ONLY:
            self._noted[update.update_id] = None
            if len(self._noted) > RECENT_NOTES:
                self._noted.popitem(last=False)

    async def apologise(self, update: Update, bot: Bot) -> None:
        """Tell the person their last message was not saved (after a failed turn)."""
        event = read_update(update)
        if event.chat_id is None or event.kind in ("ignore", "not-private"):
            return
        await Sender(bot, self.options.retry).send(
            event.chat_id, [Part(say(NOT_SAVED, event.language_hint))]
        )

    async def _run(self, sender: Sender, event: Event, key: str) -> None:
        assert event.chat_id is not None
        chat_id = event.chat_id
        if event.kind == "edited":
            await self._note(sender, event, EDITED, keep=())
        elif event.kind == "location":
            # The coordinates must not stay in the chat either: delete, then explain.
            if event.message_id is not None:
                message_id = event.message_id
                await sender.call(lambda: sender.bot.delete_message(chat_id, message_id))
            await self._note(sender, event, LOCATION, keep=())
        elif event.kind == "unsupported":
            await self._note(sender, event, UNSUPPORTED, keep=(event.message_id,))
        elif event.kind == "button":
            await self._button(sender, event, key)
        elif event.kind == "file":
            await self._file(sender, event, key)
        elif event.inbound is not None:
            await self._turn(sender, event, event.inbound, key)

    async def _leave(self, sender: Sender, event: Event) -> None:
        """Groups and channels: one short note (not in channels), then leave; keep nothing."""
        chat_id = event.chat_id
        assert chat_id is not None
        # Messages sent before the leave took effect get no second note; being added to
        # the group again (a new my_chat_member update) gets the note and the leave again.
        if chat_id in self._left and not event.joined:
            return
        self._left.add(chat_id)
        if event.chat_type in ("group", "supergroup"):
            await sender.send(chat_id, [Part(say(NOT_PRIVATE, event.language_hint))])
        await sender.call(lambda: sender.bot.leave_chat(chat_id))

    async def _note(
        self, sender: Sender, event: Event, text: str, keep: Sequence[int | None]
    ) -> None:
        """Say something without a turn; remember the ids so /exit can erase them."""
        assert event.chat_id is not None
        sent = await sender.send(event.chat_id, [Part(say(text, event.language_hint))])
        ids = [i for i in (*keep, *sent) if i is not None]
        self._remember(event.chat_id, ids)

    async def _button(self, sender: Sender, event: Event, key: str) -> None:
        assert event.chat_id is not None
        respondent = self.dispatcher.respondent(CHANNEL, event.chat_id)
        pressed = self.signer.verify(respondent, event.button_data or "")
        if pressed is None:
            # Made up or from another chat: the engine's re-prompt, nothing recorded.
            inbound = Inbound(kind="choice", choice=REFUSED_CHOICE, message_id=None)
            await self._turn(sender, event, inbound, key, ask_check=lambda _step, _nonce: False)
            return
        # An option whose id was too long for the button carries its number ("#3"):
        # still a press (a toggle on a multiple choice), never a typed "3", which would
        # commit the list with that option alone.
        choice = pressed.value if pressed.value is not None else f"#{pressed.number}"
        inbound = Inbound(kind="choice", choice=choice, message_id=None)
        # Only for the step asked now, with the nonce this session keeps for it.
        await self._turn(
            sender, event, inbound, key, ask_check=pressed.answers, edit=pressed.answers
        )

    async def _file(self, sender: Sender, event: Event, key: str) -> None:
        assert event.chat_id is not None and event.file is not None
        again = await self.dispatcher.replay(CHANNEL, event.chat_id, key)
        if again is not None:
            # Delivered again: its turn is saved; fetch nothing, only send what is owed.
            with _after_save():
                await self._send_reply(sender, event, again, self._clock())
            return
        if not await self.dispatcher.asks_media(CHANNEL, event.chat_id, event.file.kind):
            # Where voice notes are welcome, say so: only the kind of file was wrong.
            voice = await self.dispatcher.asks_media(CHANNEL, event.chat_id, "voice")
            refusal = VOICE_ONLY if voice else MEDIA_NOT_HERE
            await self._note(sender, event, refusal, keep=(event.message_id,))
            return
        try:
            ref = await take_in(
                sender.bot, self.dispatcher, event.chat_id, event.file, self.options.media
            )
        except TooLarge:
            await self._note(sender, event, TOO_LARGE, keep=(event.message_id,))
            return
        except Exception as exc:  # a download that failed for good: the person can retry
            log.warning("a file could not be taken in (%s)", type(exc).__name__)
            await self._note(sender, event, FILE_FAILED, keep=(event.message_id,))
            return
        inbound = Inbound(kind="media", media=ref, message_id=event.message_id)
        await self._turn(sender, event, inbound, key)

    async def _turn(
        self,
        sender: Sender,
        event: Event,
        inbound: Inbound,
        key: str,
        ask_check: Callable[[str, str | None], bool] | None = None,
        edit: Callable[[str, str | None], bool] | None = None,
    ) -> None:
        assert event.chat_id is not None
        chat_id = event.chat_id
        now = self._clock()
        # Buttons carry no numbers here: a re-prompt asks for a tap.
        inbound = dataclasses.replace(inbound, entropy=self._entropy.take(), numbered=False)
        reply = await self.dispatcher.handle(
            CHANNEL,
            chat_id,
            inbound,
            update_key=key,
            now=now,
            flow=self.options.flow,
            ask_check=ask_check,
        )
        with _after_save():
            await self._send_reply(sender, event, reply, now, edit)

    async def _send_reply(
        self,
        sender: Sender,
        event: Event,
        reply: Reply,
        now: datetime,
        edit: Callable[[str, str | None], bool] | None = None,
    ) -> None:
        """Send a saved turn's reply; once it went out whole, the saved copy is dropped."""
        assert event.chat_id is not None
        chat_id = event.chat_id
        if not reply.applied:
            return  # an update already handled: its reply went out the first time
        # A button press has no message of its own; the pressed message is the bot's.
        incoming = [event.message_id] if event.message_id is not None and not edit else []
        erased: list[int] | None = None
        if reply.erase_chat:
            erased = await self._erase(sender, chat_id, incoming, now)
        respondent = self.dispatcher.respondent(CHANNEL, chat_id)
        language = reply.language
        edited = edit is not None and await self._edit_in_place(
            sender, event, reply.messages, respondent, language, edit
        )
        parts = [] if edited else self._parts(reply.messages, respondent, language)
        if erased is not None and reply.end == "paused" and older_messages_may_remain(erased):
            # /hide keeps the conversation: say what a bot could not clear.
            parts.append(Part(say(OLDER_REMAIN, language)))
        if reply.end == "submitted" and not reply.erase_chat:
            # (A documenter's account erases the chat; the engine has named the answers
            # too old to erase, exactly, so no "may remain" guess is added.)
            await self._remembered(chat_id)
            targets = await self.dispatcher.erase_targets(CHANNEL, chat_id, now)
            if older_messages_may_remain([*targets, *incoming]):
                parts.append(Part(say(OLDER_REMAIN, language)))
        given_up, unreachable = sender.given_up, sender.unreachable
        maybe_delivered = sender.maybe_delivered
        sent = await sender.send(chat_id, parts)
        # A message Telegram refused for good keeps the saved reply, for a redelivery.
        whole = sender.given_up == given_up
        self._remember(chat_id, [*incoming, *sent], reply.update_key if whole else None)
        if not whole and not sent and sender.maybe_delivered == maybe_delivered:
            # Certainly nothing of it reached the person (no part sent, none timed out):
            # it is owed to their next message, which must not answer an unseen question.
            await self._owe(reply.update_key)
        if sender.unreachable != unreachable:
            # Telegram could not be reached: worth another try later (webhook: a 500, so
            # Telegram delivers the update again; polling: the update is handled again).
            raise ReplyFailed("NetworkError")

    async def _owe(self, update_key: str | None) -> None:
        if update_key is None:
            return
        try:
            await self.dispatcher.owe_reply(update_key)
        except Exception as exc:  # then it is only sent again if this update comes again
            log.error("a reply could not be marked as owed (%s)", type(exc).__name__)

    def _remember(self, chat_id: int, ids: Sequence[int], reply_sent: str | None = None) -> None:
        """Keep message ids for erasure, without delaying this person's reply.

        The write is started here and batched with other turns' commits by the store;
        `process` waits for it before the update counts as done, and anything that needs
        the ids (quick exit first) waits for it too. `reply_sent`: the update whose saved
        reply has now gone out; it is dropped in the same write.
        """
        if not ids and reply_sent is None:
            return
        previous = self._remembering.get(chat_id)
        now = self._clock()

        async def write() -> None:
            if previous is not None:
                await previous
            try:
                await self.dispatcher.remember_sent(
                    CHANNEL, chat_id, list(ids), now, update_key=reply_sent
                )
            except Exception as exc:
                log.error("message ids could not be kept for erasure (%s)", type(exc).__name__)
            finally:
                if self._remembering.get(chat_id) is task:
                    del self._remembering[chat_id]

        task = create_task(write())
        self._remembering[chat_id] = task

    async def _remembered(self, chat_id: int) -> None:
        task = self._remembering.get(chat_id)
        if task is not None:
            await task

    async def drain(self) -> None:
        """Wait for every message id still being written (call before shutting down)."""
        await gather(*self._remembering.values())

    def _parts(self, messages: Sequence[Outbound], respondent: str, language: str) -> list[Part]:
        tr = translator(language)
        return [Part(m.text, keyboard_for(m, respondent, self.signer, tr)) for m in messages]

    async def _edit_in_place(
        self,
        sender: Sender,
        event: Event,
        messages: Sequence[Outbound],
        respondent: str,
        language: str,
        same_ask: Callable[[str, str | None], bool],
    ) -> bool:
        """A multiple-choice toggle redraws the pressed message instead of sending anew
        (only a button of the same ask in this session: same step, same nonce)."""
        if len(messages) != 1 or event.message_id is None:
            return False
        message = messages[0]
        if not message.multi or message.ask is None or not same_ask(message.ask, message.nonce):
            return False
        keyboard = keyboard_for(message, respondent, self.signer, translator(language))
        assert event.chat_id is not None
        return await sender.edit(event.chat_id, event.message_id, message.text, keyboard)

    async def _erase(
        self, sender: Sender, chat_id: int, incoming: Sequence[int], now: datetime
    ) -> list[int]:
        """Quick exit or /hide: delete every message of the chat still deletable, both sides.

        Returns the ids it asked Telegram to delete.
        """
        await self._remembered(chat_id)
        targets = [*await self.dispatcher.erase_targets(CHANNEL, chat_id, now), *incoming]
        await erase_messages(sender, chat_id, targets)
        return targets
