"""The one path every channel takes: inbound event -> engine -> durable turn -> reply.

Channels convert their own events to `flows.types.Inbound` at the edge and call
`Dispatcher.handle`. Per person, turns run one at a time (an in-process lock, plus the
store's cross-process lock where it has one, e.g. a PostgreSQL advisory lock). A turn is
committed before `handle` returns, so a channel only ever sends replies for saved turns.

The reply is saved with the turn (storage/intake/replies.py) until the channel reports it sent
(`remember_sent(..., update_key=...)`). A repeated update key is recognised: if its reply
went out, it produces nothing; if the process died before that, the saved reply is
returned again, as long as the person's draft is still where that turn left it.

Each question asked with choices gets a button nonce, kept in the session (one per step,
the same when the step is asked again) and carried by the outbound message: a channel
signs it into its buttons, and a press counts only with the nonce kept for the step being
asked, so a button from an earlier session (before /exit, or an interview already sent)
does nothing in the next one.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import re
import secrets
import weakref
from asyncio import Lock
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from bot.documenter_access import (
    ACCOUNT_REFUSED,
    BIND_MESSAGES,
    DOCUMENTER_FLOW,
    DOCUMENTER_REVOKED,
    ERASE_NOTICE,
    PROFILE_AGAIN,
    SCRIPT_HEADING,
    SCRIPT_LANGUAGES,
    documenter_command,
    documenter_request,
)
from flows.account import make_answer
from flows.bidi import is_rtl, isolate_latin
from flows.engine import Engine
from flows.i18n import N_, translator
from flows.parse import read_command
from flows.types import (
    EndReason,
    EraseChat,
    Inbound,
    MediaRef,
    Outbound,
    RecordWithdrawal,
    Session,
    ShredDraft,
    Translator,
    Turn,
)
from flows.withdrawal import UNFINISHED_DELETED
from storage.errors import StorageError
from storage.intake.replies import PendingReply

log = logging.getLogger(__name__)

DRAFT_UNREADABLE = N_(
    "We're sorry: your unfinished answers could not be opened, so we have to start again."
)
WITHDRAWAL_REMOVED = N_(
    "Your account {reference} is withdrawn. It had not left this service yet, so it is now deleted."
)
WITHDRAWAL_RATE_LIMITED = N_(
    "Several codes were tried in a short time, so nothing was recorded this time. "
    "For your safety, please wait an hour and send /withdraw again. You can also write to "
    "{org_contact}."
)

ERASE_WINDOW = timedelta(hours=48)
NONCE_BYTES = 6  # 8 characters in callback data; 48 bits, so no two sessions share one
# The people whose turn lock the running task holds (so `handle` inside `hold` does not
# wait for itself).
_HELD: ContextVar[frozenset[str]] = ContextVar("attest_held_turn_locks", default=frozenset())
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Reply:
    """What a channel must do once a turn is saved."""

    messages: tuple[Outbound, ...]
    erase_chat: bool = False
    end: EndReason | None = None
    reference: str | None = None
    applied: bool = True
    language: str = "en"
    # The update whose saved copy of this reply waits to be dropped: pass it to
    # remember_sent once the reply has gone out. None when nothing was saved.
    update_key: str | None = None


IGNORED = Reply(messages=(), applied=False)


def _valid_unicode(inbound: Inbound) -> Inbound:
    """Lone surrogates replaced by U+FFFD, so that the answer can be hashed and stored.

    They come from bytes standard input could not decode (Python reads them with
    surrogateescape, e.g. a terminal sending cp1256 under a UTF-8 locale) or from forged
    JSON; UTF-8 cannot encode them, so every turn carrying one would fail.
    """
    text, command = inbound.text, inbound.command or ""
    if text.isascii() and command.isascii():
        return inbound
    if _SURROGATES.search(text) is None and _SURROGATES.search(command) is None:
        return inbound
    return dataclasses.replace(
        inbound,
        text=_SURROGATES.sub("\ufffd", text),
        command=_SURROGATES.sub("\ufffd", command) if inbound.command is not None else None,
    )


def button_nonce(entropy: bytes, step: str) -> str:
    """A fresh nonce for the buttons of `step`, from the turn's randomness.

    Hashed, so that nothing of the entropy the reference code is drawn from is shown.
    """
    digest = hashlib.sha256(b"attest-button-nonce\x1f" + entropy + b"\x1f" + step.encode())
    return base64.urlsafe_b64encode(digest.digest()[:NONCE_BYTES]).decode("ascii")


def with_nonces(turn: Turn, entropy: bytes) -> Turn:
    """The turn with a button nonce on each ask with choices, kept in its session.

    A step asked again keeps the nonce it had in this session, so its earlier buttons
    still answer it; a new session starts with none.
    """
    session = turn.session
    if session is None or not any(m.ask is not None and m.choices for m in turn.messages):
        return turn
    nonces = dict(session.nonces)
    messages = []
    for message in turn.messages:
        if message.ask is not None and message.choices:
            nonce = nonces.setdefault(message.ask, button_nonce(entropy, message.ask))
            message = dataclasses.replace(message, nonce=nonce)
        messages.append(message)
    if nonces != session.nonces:
        session = session.evolve(nonces=nonces)
    return dataclasses.replace(turn, session=session, messages=tuple(messages))


class Dispatcher:
    """Runs turns for every channel against one store and a set of flows."""

    def __init__(
        self,
        *,
        engines: Mapping[str, Engine],
        default_flow: str,
        store: Any,
        pseudonym: Callable[[str, str | int], str],
        translations: Callable[[str], Translator] = translator,
    ) -> None:
        if default_flow not in engines:
            raise ValueError(f"unknown default flow {default_flow!r}")
        self._engines = dict(engines)
        self._default_flow = default_flow
        self._store = store
        self._pseudonym = pseudonym
        self._translations = translations
        self._locks: weakref.WeakValueDictionary[str, Lock] = weakref.WeakValueDictionary()

    @property
    def store(self) -> Any:
        return self._store

    def respondent(self, channel: str, chat_id: str | int) -> str:
        """The pseudonym a chat is stored under (HMAC of channel and chat id)."""
        return self._pseudonym(channel, chat_id)

    def translator_for(self, language: str) -> Translator:
        return self._translations(language)

    def hold(self, channel: str, chat_id: str | int) -> AbstractAsyncContextManager[None]:
        """Hold this person's turn lock across a turn and the sending of its reply.

        `handle` inside the block runs under it (without taking it again). A channel that
        reports the reply sent (`remember_sent`) inside the block keeps a copy of the same
        update, handed to another process at the same time, from sending it twice.
        """
        return self._turn_lock(self.respondent(channel, chat_id))

    @asynccontextmanager
    async def _turn_lock(self, respondent: str) -> AsyncIterator[None]:
        held = _HELD.get()
        if respondent in held:
            yield  # taken by this task already (`hold`)
            return
        lock = self._locks.get(respondent)
        if lock is None:
            lock = Lock()
            self._locks[respondent] = lock
        cross_process: Callable[[str], AbstractAsyncContextManager[Any]] | None = getattr(
            self._store, "respondent_lock", None
        )
        async with lock, cross_process(respondent) if cross_process else nullcontext():
            token = _HELD.set(held | {respondent})
            try:
                yield
            finally:
                _HELD.reset(token)

    async def handle(
        self,
        channel: str,
        chat_id: str | int,
        inbound: Inbound,
        *,
        update_key: str | None,
        now: datetime,
        flow: str | None = None,
        ask_check: Callable[[str, str | None], bool] | None = None,
    ) -> Reply:
        """Run one inbound event as one durable turn and say what to send.

        `ask_check` (from a channel with buttons) is called with the state being asked now
        and the button nonce this session keeps for it (None: none kept) and says whether
        the pressed button belongs to them; if not, the press is no answer and the engine
        re-prompts.
        """
        respondent = self.respondent(channel, chat_id)
        inbound = _valid_unicode(inbound)
        if not inbound.entropy:
            inbound = dataclasses.replace(inbound, entropy=secrets.token_bytes(16))
        async with self._turn_lock(respondent):
            notes: list[str] = []
            try:
                seen, session, kept = await self._store.load_turn(respondent, update_key)
            except StorageError as exc:  # a damaged draft must not stop the person
                log.warning("an unreadable draft was set aside (%s)", type(exc).__name__)
                seen, session, kept = False, None, None
                notes.append(DRAFT_UNREADABLE)
            if seen:
                assert update_key is not None
                return await self._again(update_key, session, kept)
            # `kept`, for a new update: a reply owed from an earlier one (never reached
            # the person). What they write now cannot answer a question they never saw.
            supersedes = None
            if kept is not None and kept.owed_from is not None:
                # A quick exit's reply is not owed: the chat was erased before it was sent,
                # and erasing again would also take what the person writes now.
                current = (
                    kept.is_current(session) and not kept.offered_again and not kept.erase_chat
                )
                if current and self._is_answer(inbound, session, kept.language):
                    return await self._owed(
                        respondent, kept, session, update_key, channel=channel, now=now
                    )
                if not current:
                    supersedes = kept.owed_from  # stale, or already sent again once: dropped
            language = session.language if session else (inbound.language_hint or "en")
            code = documenter_request(inbound, self._translations(language))
            if code is not None:
                return await self._bind_documenter(
                    respondent, code, session, update_key, language, channel=channel, now=now
                )
            documenter = await self._documenter_of(respondent, session)
            if session is not None and session.flow == DOCUMENTER_FLOW and documenter is None:
                return await self._revoked(respondent, session, update_key, channel, now)
            asked = (
                documenter_command(inbound, self._translations(language)) if documenter else None
            )
            if asked is not None and documenter is not None:
                return await self._documenter_command(
                    respondent, asked, documenter, session, update_key, language, channel, now
                )
            if session is None or session.status == "ended":
                name = DOCUMENTER_FLOW if documenter and DOCUMENTER_FLOW in self._engines else None
                engine = self._engines[name or flow or self._default_flow]
                # The engine takes inbound.language_hint when the flow offers that language.
                session = engine.new_session(respondent, now)
                if name is not None and documenter is not None:
                    session = await self._documenter_session(session, documenter, now)
                if inbound.kind not in {"start", "command"}:
                    # Someone writing for the first time starts the interview; what they
                    # wrote is not an answer to a question they have not seen yet.
                    inbound = dataclasses.replace(inbound, kind="start", text="", choice=None)
            elif ask_check is not None and not ask_check(
                session.state, session.nonces.get(session.state)
            ):
                # A button from an earlier question or session, or not made for this person.
                inbound = dataclasses.replace(inbound, kind="choice", choice="", text="")
            engine = self._engines.get(session.flow) or self._engines[self._default_flow]
            words = self._translations(session.language)
            code = engine.code_to_look_up(session, inbound, words)
            if code is not None:
                check = getattr(self._store, "check_withdrawal_code", None)
                found = await check(respondent, code, now) if check is not None else None
                if found == "rate-limited":
                    return await self._say_only(
                        respondent,
                        session,
                        [WITHDRAWAL_RATE_LIMITED],
                        update_key,
                        session.language,
                        channel=channel,
                        now=now,
                    )
                # None (a store that cannot tell): the engine never says it is done.
                inbound = dataclasses.replace(
                    inbound, code_sent=None if found is None else found == "sent"
                )
            turn = engine.handle(session, inbound, now, words)
            turn = with_nonces(turn, inbound.entropy)
            pending = PendingReply(
                messages=turn.messages,
                language=turn.session.language if turn.session else session.language,
                end=turn.end,
                erase_chat=any(isinstance(e, EraseChat) for e in turn.effects),
                updated_at=turn.session.updated_at if turn.session else None,
                reference=turn.reference,
                notes=tuple(notes),
                withdrawal_code=next(
                    (e.reference_code for e in turn.effects if isinstance(e, RecordWithdrawal)),
                    None,
                ),
            )
            keep = update_key is not None and pending.says_something
            result = await self._store.commit_turn(
                respondent,
                turn,
                update_key=update_key,
                channel=channel,
                now=now,
                reply=pending if keep else None,
                supersedes=supersedes,
            )
        if not result:
            return IGNORED
        outcomes = tuple(getattr(result, "withdrawals", ()))
        pending = dataclasses.replace(pending, withdrawals=outcomes)
        if getattr(result, "account_id", None) and documenter is not None:
            # What the documenter said about themselves is kept for their next account.
            remembered = self._engines[DOCUMENTER_FLOW].remembered(session)
            await self._store.save_documenter_profile(documenter, remembered)
        if getattr(result, "refused", False):
            # Revoked while recording: the store sent nothing, so the reply must not say so.
            pending = dataclasses.replace(
                pending, messages=(), notes=(*pending.notes, ACCOUNT_REFUSED), reference=None
            )
        return self._reply(pending, update_key if keep else None)

    async def is_documenter(self, channel: str, chat_id: str | int) -> bool:
        """Whether this chat is bound to a documenter invite that is not revoked."""
        return await self._documenter_of(self.respondent(channel, chat_id), None) is not None

    async def _documenter_session(
        self, session: Session, documenter: str, now: datetime
    ) -> Session:
        """A new documenter session: who records it, and their kept profile answers."""
        profile = await self._store.documenter_profile(documenter)
        steps = self._engines[DOCUMENTER_FLOW].flow
        answers = {
            # Hashed like any answer (reviewers verify every hash); received now, when
            # it is carried into this account.
            step: make_answer(step, "answered", now, value=value)
            for step, value in profile.items()
            if steps.has_step(step) and steps.step(step).remember and steps.step(step).option(value)
        }
        return session.evolve(
            data={**session.data, "documenter": documenter}, answers={**session.answers, **answers}
        )

    async def _documenter_command(
        self,
        respondent: str,
        asked: tuple[str, str],
        documenter: str,
        session: Session | None,
        update_key: str | None,
        language: str,
        channel: str,
        now: datetime,
    ) -> Reply:
        """`/profile` (ask the profile again next time) or `/script [LANG]` (the consent text)."""
        command, argument = asked
        engine = self._engines[DOCUMENTER_FLOW]
        if command == "profile":
            await self._store.save_documenter_profile(documenter, {})
            return await self._say_only(
                respondent, session, [PROFILE_AGAIN], update_key, language, channel=channel, now=now
            )
        offered = (
            {o.id for o in engine.flow.language_step.options}
            if engine.flow.language_step
            else set()
        )
        chosen = session.answers.get("interviewee-language") if session else None
        script_language = (
            argument
            if argument in offered
            else chosen.value
            if chosen is not None and isinstance(chosen.value, str) and chosen.value in offered
            else language
        )
        shown = session or engine.new_session(respondent, now, language)
        texts = engine.script(shown, self._translations(script_language))
        _ = self._translations(language).gettext
        note = _(SCRIPT_LANGUAGES).format(languages=", ".join(sorted(offered)))
        if is_rtl(language):
            note = isolate_latin(note)
        extra = (
            Outbound(text=_(SCRIPT_HEADING)),
            *(Outbound(text=t) for t in texts),
            Outbound(text=note),
        )
        turn = None
        if session is not None and session.status == "active" and session.state != "new":
            # The question waiting is asked again after the script, so the interview goes on.
            resumed = engine.handle(
                session,
                Inbound(kind="command", command="resume"),
                now,
                self._translations(session.language),
            )
            resumed = with_nonces(resumed, secrets.token_bytes(16))
            extra = (*extra, *resumed.messages)
            turn = dataclasses.replace(resumed, messages=())
        return await self._say_only(
            respondent,
            session,
            [],
            update_key,
            language,
            channel=channel,
            now=now,
            messages=extra,
            turn=turn,
        )

    async def _documenter_of(self, respondent: str, session: Session | None) -> str | None:
        """The pseudonym of the documenter bound here (not revoked), when it matters."""
        lookup = getattr(self._store, "documenter_of", None)
        if lookup is None:
            return None
        if session is not None and session.status != "ended" and session.flow != DOCUMENTER_FLOW:
            return None  # an interview of another flow goes on as it is
        bound = await lookup(respondent)
        if bound is None or bound[1]:
            return None
        pseudonym: str = bound[0]
        return pseudonym

    async def _say_only(
        self,
        respondent: str,
        session: Session | None,
        texts: Sequence[str],
        update_key: str | None,
        language: str,
        *,
        channel: str,
        now: datetime,
        turn: Turn | None = None,
        messages: tuple[Outbound, ...] = (),
    ) -> Reply:
        """A turn that only says something (and keeps the draft as it is, unless `turn`)."""
        pending = PendingReply(
            messages=messages,
            language=language,
            end=turn.end if turn else None,
            erase_chat=False,
            updated_at=(
                (turn.session.updated_at if turn.session else None)
                if turn
                else (session.updated_at if session else None)
            ),
            reference=None,
            notes=tuple(texts),
        )
        keep = update_key is not None
        result = await self._store.commit_turn(
            respondent,
            turn or Turn(session=session, messages=()),
            update_key=update_key,
            channel=channel,
            now=now,
            reply=pending if keep else None,
        )
        if not result:
            return IGNORED
        return self._reply(pending, update_key if keep else None)

    async def _bind_documenter(
        self,
        respondent: str,
        code: str,
        session: Session | None,
        update_key: str | None,
        language: str,
        *,
        channel: str,
        now: datetime,
    ) -> Reply:
        """`/documenter CODE` or the deep link: bind the invite to this person, once."""
        bind = getattr(self._store, "bind_invite", None)
        if bind is None or DOCUMENTER_FLOW not in self._engines:
            outcome = "unavailable"
        elif not code:
            outcome = "no-code"
        else:
            outcome, _ = await bind(respondent, code, now)
        said = [BIND_MESSAGES[outcome]]
        if outcome == "bound" and self._engines[DOCUMENTER_FLOW].deployment.documenter_erase_chat:
            said.append(ERASE_NOTICE)
        return await self._say_only(
            respondent,
            session,
            said,
            update_key,
            language,
            channel=channel,
            now=now,
        )

    async def _revoked(
        self,
        respondent: str,
        session: Session,
        update_key: str | None,
        channel: str,
        now: datetime,
    ) -> Reply:
        """A documenter's draft after the documenter was revoked: shredded, and said so."""
        return await self._say_only(
            respondent,
            None,
            [DOCUMENTER_REVOKED],
            update_key,
            session.language,
            channel=channel,
            now=now,
            turn=Turn(session=None, messages=(), effects=(ShredDraft(),), end="declined"),
        )

    def _is_answer(self, inbound: Inbound, session: Session | None, language: str) -> bool:
        """Whether the engine would read `inbound` as an answer (not a start or a command)."""
        if inbound.kind not in ("text", "choice", "media"):
            return False
        words = self._translations(session.language if session else language)
        return read_command(inbound, words) is None

    async def _owed(
        self,
        respondent: str,
        owed: PendingReply,
        session: Session | None,
        update_key: str | None,
        *,
        channel: str,
        now: datetime,
    ) -> Reply:
        """This update's reply is the owed one; the message it brought is not an answer.

        Saved as this update's turn (the draft unchanged) with the owed reply kept under
        this update instead, so a redelivery or a crash now loses nothing; marked as
        offered again, so a reply that cannot be sent is not owed forever.
        """
        again = dataclasses.replace(owed, offered_again=True, owed_from=None)
        result = await self._store.commit_turn(
            respondent,
            Turn(session=session, messages=()),
            update_key=update_key,
            channel=channel,
            now=now,
            reply=again,
            supersedes=owed.owed_from,
        )
        if not result:
            return IGNORED
        return self._reply(again, update_key)

    async def _again(
        self, update_key: str, session: Session | None, kept: PendingReply | None
    ) -> Reply:
        """A repeated update: its saved reply if it never went out and is still current."""
        if kept is None:
            return IGNORED  # its reply went out the first time
        if not kept.is_current(session):
            # The person has moved on since: this reply would ask a stale question.
            await self._store.forget_reply(update_key)
            return IGNORED
        return self._reply(kept, update_key)

    def _reply(self, pending: PendingReply, update_key: str | None) -> Reply:
        """What the channel sends: the engine's messages with the dispatcher's own texts."""
        messages = pending.messages
        _ = self._translations(pending.language).gettext
        if "rate-limited" in pending.withdrawals:
            messages = (Outbound(text=self._with_contact(_(WITHDRAWAL_RATE_LIMITED), pending)),)
        elif "removed" in pending.withdrawals and pending.withdrawal_code is not None:
            code = pending.withdrawal_code
            # Shown the right way round inside Arabic or Persian text.
            code = isolate_latin(code) if is_rtl(pending.language) else code
            text = _(WITHDRAWAL_REMOVED).format(reference=code)
            # In place of the engine's "recorded, the team will remove it", which was said
            # beside it: one message, with the engine's note on unfinished answers if any.
            note = _(UNFINISHED_DELETED)
            if messages and messages[0].text.endswith(note):
                text += "\n\n" + note
            messages = (Outbound(text=text), *messages[1:])
        if pending.notes:
            notes = (Outbound(text=self._with_contact(_(n), pending)) for n in pending.notes)
            messages = (*notes, *messages)
        return Reply(
            messages=messages,
            erase_chat=pending.erase_chat,
            end=pending.end,
            reference=pending.reference,
            applied=True,
            language=pending.language,
            update_key=update_key,
        )

    def _with_contact(self, text: str, pending: PendingReply) -> str:
        """A dispatcher text with the organisation's contact address filled in."""
        if "{org_contact}" not in text:
            return text
        contact = self._engines[self._default_flow].deployment.org_contact
        # Shown the right way round inside Arabic or Persian text.
        contact = isolate_latin(contact) if is_rtl(pending.language) else contact
        return text.replace("{org_contact}", contact)

    async def replay(self, channel: str, chat_id: str | int, update_key: str) -> Reply | None:
        """For an update seen before: its saved reply (see `handle`) or IGNORED; None if new.

        For channels that do work before the turn which a repeated update must not redo
        (downloading a file again).
        """
        respondent = self.respondent(channel, chat_id)
        async with self._turn_lock(respondent):
            try:
                seen, session, kept = await self._store.load_turn(respondent, update_key)
            except StorageError:
                return None  # handle() will say so
            if not seen:
                return None
            return await self._again(update_key, session, kept)

    async def asks_media(self, channel: str, chat_id: str | int, kind: str | None = None) -> bool:
        """Whether the step waiting for this person's answer takes files or voice notes.

        With `kind` ("voice", "audio", "photo", "document", "video"): whether it takes that
        kind. A free-text step with `media: true` takes voice notes and audio; only a step
        of kind `media`, which a flow enables deliberately, takes photos and documents.
        """
        try:
            session = await self._store.load_session(self.respondent(channel, chat_id))
        except StorageError:
            return False
        if session is None or session.status != "active":
            return False
        engine = self._engines.get(session.flow)
        if engine is None or not engine.flow.has_step(session.state):
            return False
        step = engine.flow.step(session.state)
        if step.kind == "media":
            return True
        return bool(step.media) and kind in (None, "voice", "audio")

    async def store_file(
        self,
        channel: str,
        chat_id: str | int,
        src: BinaryIO,
        kind: str,
        mime: str | None,
        max_bytes: int,
    ) -> MediaRef:
        """Hash and encrypt an incoming file; FileTooLarge when over max_bytes."""
        ref: MediaRef = await self._store.store_file(
            self.respondent(channel, chat_id), src, kind, mime, max_bytes
        )
        return ref

    async def remember_sent(
        self,
        channel: str,
        chat_id: str | int,
        message_ids: Sequence[int],
        now: datetime,
        *,
        update_key: str | None = None,
    ) -> None:
        """Keep message ids (encrypted) for up to 48 hours so quick exit can erase them.

        `update_key` (a `Reply.update_key`): that reply has gone out, so its saved copy is
        dropped in the same write.
        """
        if message_ids or update_key is not None:
            await self._store.remember_messages(
                self.respondent(channel, chat_id), message_ids, now, reply_sent=update_key
            )

    async def owe_reply(self, update_key: str) -> None:
        """The reply kept for `update_key` certainly never reached the person (every part
        refused or unreachable, none possibly shown): owed to their next message."""
        await self._store.owe_reply(update_key)

    async def erase_targets(self, channel: str, chat_id: str | int, now: datetime) -> list[int]:
        """Message ids of this chat, both sides, that are still young enough to delete."""
        ids: list[int] = await self._store.chat_messages(
            self.respondent(channel, chat_id), now - ERASE_WINDOW
        )
        return ids
