"""The intake store's statements: what one turn, file, expiry or chat-id write does to the rows.

Every method runs on the writer thread inside the transaction (and savepoint) that
`storage.intake.writer` opened, and records in `AfterCommit` what may only happen once that
transaction is durable: unlinking files, checkpointing the WAL after a shred.

A turn's reply is kept (encrypted, storage/intake/replies.py) in its `processed_updates` row,
written by the same INSERT that marks the update processed, until `remember_messages`
says it was sent. Shredding a person's draft clears their other kept replies; expiry
clears any kept longer than Telegram would ever deliver an update again.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from flows.types import FinishedAccount, RecordWithdrawal, Session, ShredDraft, Turn
from storage.crypto import NodeKeys, ReviewerPublicKey, seal_account
from storage.errors import CorruptDraft
from storage.intake import drafts, replies
from storage.intake.documenters import count_account, documenter_of
from storage.intake.drafts import FileDetails
from storage.intake.hot import HotStatement
from storage.intake.outbox import (
    WITHDRAWAL_WINDOW,
    WithdrawalOutcome,
    account_metadata,
    insert_ignore,
    outbox_row,
    record_withdrawal,
    sealed_from_row,
)
from storage.intake.replies import PendingReply
from storage.intake.sent_codes import remember_sent_code
from storage.intake.tables import (
    chat_messages,
    files,
    outbox,
    processed_updates,
    sessions,
    withdrawal_attempts,
)
from storage.intake.vault import FileVault, WrittenFile
from storage.intake.writer import AfterCommit

# outbox_row and sealed_from_row are re-exported: sync and bench/sync.py import them here.
__all__ = ["IntakeRows", "TurnResult", "WithdrawalOutcome", "outbox_row", "sealed_from_row"]

log = logging.getLogger(__name__)

CHAT_IDS_KEPT = timedelta(hours=48)
KEY_CACHE_SIZE = 10_000
# Old chat message ids are dropped at most this often (and at every expiry run): a
# DELETE per remembered message would cost every turn for nothing.
FORGET_EVERY = timedelta(minutes=10)
# Telegram keeps an unacknowledged update for 24 hours at most; a reply still unsent
# after this long will never be asked for again.
REPLIES_KEPT = timedelta(hours=48)

# The statements of every turn, compiled once per database and run on the driver's cursor
# (storage/intake/hot.py; bench/telegram.py).
_SAVE_DRAFT = HotStatement(
    update(sessions)
    .where(
        sessions.c.respondent == bindparam("the_respondent"),
        sessions.c.wrapped_key == bindparam("the_wrapped_key"),
    )
    .values(
        blob=bindparam("the_blob"),
        updated_at=bindparam("the_updated_at"),
        expires_at=bindparam("the_expires_at"),
    )
)
# A person's first turn: the draft's row and key are made first.
_SAVE_ANY_DRAFT = HotStatement(
    update(sessions)
    .where(sessions.c.respondent == bindparam("the_respondent"))
    .values(
        blob=bindparam("the_blob"),
        updated_at=bindparam("the_updated_at"),
        expires_at=bindparam("the_expires_at"),
    )
)
_WRAPPED_KEY = HotStatement(
    select(sessions.c.wrapped_key).where(sessions.c.respondent == bindparam("respondent"))
)
_NEW_DRAFT = HotStatement(
    insert(sessions).values(
        respondent=bindparam("respondent"),
        wrapped_key=bindparam("wrapped_key"),
        blob=None,
        updated_at=bindparam("updated_at"),
        expires_at=bindparam("expires_at"),
    )
)
_REMEMBER = HotStatement(
    insert(chat_messages).values(
        respondent=bindparam("respondent"),
        wrapped_key=bindparam("wrapped_key"),
        blob=bindparam("blob"),
        created_at=bindparam("created_at"),
    )
)
_MARK_PROCESSED = {
    name: HotStatement(
        dialect.insert(processed_updates)
        .values(
            update_key=bindparam("update_key"),
            processed_at=bindparam("processed_at"),
            respondent=bindparam("respondent"),
            reply=bindparam("reply"),
        )
        .on_conflict_do_nothing()
        .returning(processed_updates.c.update_key)
    )
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
_KEEP_REPLY = (
    update(processed_updates)
    .where(processed_updates.c.update_key == bindparam("the_update_key"))
    .values(respondent=bindparam("the_respondent"), reply=bindparam("the_reply"))
)
_OWE_REPLY = HotStatement(
    update(processed_updates)
    .where(
        processed_updates.c.update_key == bindparam("the_update_key"),
        processed_updates.c.reply.is_not(None),
    )
    .values(owed=true())
)
_CLEAR_REPLY = HotStatement(
    update(processed_updates)
    .where(
        processed_updates.c.update_key == bindparam("the_update_key"),
        processed_updates.c.reply.is_not(None),
    )
    .values(respondent=None, reply=None)
)


@dataclass(frozen=True)
class TurnResult:
    """What commit_turn did. Truthy when the turn was applied (False: a repeated update).

    `withdrawals` has one outcome per RecordWithdrawal effect, in order: "removed" (the
    account was still in this node's outbox and is deleted; a request is kept for sync
    too), "requested" (kept for sync), "rate-limited" (too many attempts: nothing recorded;
    tell the person to try again later).
    """

    applied: bool
    withdrawals: tuple[WithdrawalOutcome, ...] = ()
    account_id: str | None = None
    # The turn finished a documenter's account after the documenter was revoked: not sent.
    refused: bool = False

    def __bool__(self) -> bool:
        return self.applied

    @property
    def withdrawal_limited(self) -> bool:
        return "rate-limited" in self.withdrawals


class IntakeRows:
    """Row-level operations of the intake store, for one node's keys and reviewers.

    `reviewers` is the keys accounts are sealed to, or a callable that says which they are
    when an account is sealed (`storage.intake.keyring.LiveReviewerKeys`: a running node
    follows `attest keys add-reviewer` / `remove-reviewer` without a restart). If it
    raises, the turn that finished the account is not saved: the account stays a draft.
    """

    def __init__(
        self,
        node: NodeKeys,
        reviewers: Sequence[ReviewerPublicKey] | Callable[[], Sequence[ReviewerPublicKey]],
        vault: FileVault,
        draft_days: int,
    ) -> None:
        self.node = node
        if callable(reviewers):
            self._reviewers = reviewers
        else:
            fixed = tuple(reviewers)
            self._reviewers = lambda: fixed
        self.vault = vault
        self.draft_lifetime = timedelta(days=draft_days)
        # respondent -> (wrapped key, data key) of recently opened or written drafts.
        # Filled by the writer, and by the reader when it opens a draft for a turn (so the
        # turn's save needs no second read of the wrapped key, however many drafts exist).
        self._keys: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
        self._keys_lock = threading.Lock()
        self._forgot: datetime | None = None  # when old chat message ids were last dropped
        # Update keys (and when) whose kept reply ended an interview, so may hold the
        # reference code: clearing one checkpoints the WAL, as a shred does. Written by the
        # reader and writer threads; single dict operations need no lock.
        self._closing: dict[str, datetime] = {}

    # -- one turn ---------------------------------------------------------------------

    def apply_turn(
        self,
        conn: Connection,
        after: AfterCommit,
        respondent: str,
        turn: Turn,
        update_key: str | None,
        channel: str,
        now: datetime,
        reply: PendingReply | None = None,
        supersedes: str | None = None,
    ) -> TurnResult:
        """Everything a turn changes, or nothing when `update_key` was already applied.

        With an update key and a `reply`, the reply is kept (encrypted) in the update's
        row until `remember_messages(..., reply_sent=update_key)` clears it. The reply
        kept for `supersedes` (an owed reply this turn carries on) is cleared.
        """
        if update_key is None:
            reply = None
        # A withdrawal's reply depends on its outcome, known only further down.
        withdrawing = any(isinstance(e, RecordWithdrawal) for e in turn.effects)
        if update_key is not None:
            blob = None
            if reply is not None and not withdrawing:
                blob = replies.encrypt_reply(self.node.master_key, respondent, update_key, reply)
            values = {
                "update_key": update_key,
                "processed_at": now,
                "respondent": respondent if blob is not None else None,
                "reply": blob,
            }
            marked = _MARK_PROCESSED.get(conn.dialect.name)
            if marked is None:
                fresh = bool(insert_ignore(conn, processed_updates, values))
            else:
                fresh = marked.first(conn, values) is not None
            if not fresh:
                return TurnResult(applied=False)
        if supersedes is not None:
            self.clear_reply(conn, after, supersedes)
        account_id = None
        refused = False
        if turn.account is not None and turn.account.documenter is not None:
            # A documenter revoked while recording: the account is not sent (the draft is
            # shredded below, as the turn ends it).
            bound = documenter_of(conn, respondent)
            refused = bound is None or bound[1] or bound[0] != turn.account.documenter
        if turn.account is not None and not refused:
            account_id = self._seal(conn, after, respondent, turn.account, channel, now)
            if turn.account.documenter is not None:
                count_account(conn, turn.account.documenter)
        outcomes = tuple(
            record_withdrawal(
                conn,
                after,
                node=self.node,
                file_path=self.vault.path,
                respondent=respondent,
                code=effect.reference_code,
                now=now,
            )
            for effect in turn.effects
            if isinstance(effect, RecordWithdrawal)
        )
        if reply is not None and withdrawing:
            assert update_key is not None
            kept = dataclasses.replace(reply, withdrawals=outcomes)
            blob = replies.encrypt_reply(self.node.master_key, respondent, update_key, kept)
            values = {"the_update_key": update_key, "the_respondent": respondent, "the_reply": blob}
            conn.execute(_KEEP_REPLY, values)
        shred = turn.session is None or any(isinstance(e, ShredDraft) for e in turn.effects)
        if shred:
            self.shred(conn, after, respondent)
            self.clear_replies(conn, after, respondent, keep=update_key)
            if reply is not None and update_key is not None:
                self._closing[update_key] = now
        else:
            assert turn.session is not None
            self._save_session(conn, after, respondent, turn.session, now)
        return TurnResult(
            applied=True, withdrawals=outcomes, account_id=account_id, refused=refused
        )

    def _save_session(
        self, conn: Connection, after: AfterCommit, respondent: str, session: Session, now: datetime
    ) -> None:
        """Encrypt and store the session under the draft's key.

        The common case is one UPDATE: the key comes from the cache, and the UPDATE only
        matches if the row still holds that same wrapped key (another process may have
        shredded and restarted the draft meanwhile); otherwise the slow path reads it.
        """
        with self._keys_lock:
            cached = self._keys.get(respondent)
        if cached is not None:
            wrapped, key = cached
            saved = _SAVE_DRAFT.rowcount(
                conn,
                {
                    "the_respondent": respondent,
                    "the_wrapped_key": wrapped,
                    "the_blob": drafts.encrypt_session(key, session),
                    "the_updated_at": now,
                    "the_expires_at": now + self.draft_lifetime,
                },
            )
            if saved == 1:
                return
        key = self._draft_key(conn, after, respondent, now)
        _SAVE_ANY_DRAFT.rowcount(
            conn,
            {
                "the_respondent": respondent,
                "the_blob": drafts.encrypt_session(key, session),
                "the_updated_at": now,
                "the_expires_at": now + self.draft_lifetime,
            },
        )

    def offer_key(self, respondent: str, wrapped: bytes, key: bytes) -> None:
        """Keep a draft's opened key for its next save (any thread).

        Safe even if stale: a save with it only matches a row still holding `wrapped`.
        """
        with self._keys_lock:
            self._keys[respondent] = (wrapped, key)
            self._keys.move_to_end(respondent)
            while len(self._keys) > KEY_CACHE_SIZE:
                self._keys.popitem(last=False)

    _remember_key = offer_key

    def _draft_key(
        self, conn: Connection, after: AfterCommit, respondent: str, now: datetime
    ) -> bytes:
        """The draft's data key, creating the row (or replacing a corrupt one) if needed.

        Replacing a corrupt draft is how a person "starts over": its files could not be
        opened any more, so they go too.
        """
        found = _WRAPPED_KEY.first(conn, {"respondent": respondent})
        if found is not None:
            (wrapped,) = found
            try:
                key = drafts.open_draft_key(self.node.master_key, respondent, wrapped)
            except CorruptDraft:
                log.warning("replacing a draft whose key could not be opened")
                self.shred(conn, after, respondent)
            else:
                self._remember_key(respondent, wrapped, key)
                return key
        key, wrapped = drafts.new_draft_key(self.node.master_key, respondent)
        self._remember_key(respondent, wrapped, key)
        _NEW_DRAFT.rowcount(
            conn,
            {
                "respondent": respondent,
                "wrapped_key": wrapped,
                "updated_at": now,
                "expires_at": now + self.draft_lifetime,
            },
        )
        return key

    def shred(self, conn: Connection, after: AfterCommit, respondent: str) -> bool:
        """Delete a draft's wrapped key, its state and its unsent files. True if it existed."""
        with self._keys_lock:
            self._keys.pop(respondent, None)
        draft_files = list(
            conn.execute(
                select(files.c.file_id).where(
                    files.c.respondent == respondent, files.c.account_id.is_(None)
                )
            ).scalars()
        )
        if draft_files:
            conn.execute(delete(files).where(files.c.file_id.in_(draft_files)))
            after.unlink.extend(self.vault.path(f) for f in draft_files)
        gone = conn.execute(delete(sessions).where(sessions.c.respondent == respondent)).rowcount
        if gone or draft_files:
            after.checkpoint = True
        return bool(gone)

    # -- kept replies -----------------------------------------------------------------

    def clear_reply(self, conn: Connection, after: AfterCommit, update_key: str) -> None:
        """Drop the reply kept for `update_key` (it was sent, or is no longer current)."""
        cleared = _CLEAR_REPLY.rowcount(conn, {"the_update_key": update_key})
        if self._closing.pop(update_key, None) is not None and cleared:
            after.checkpoint = True

    def owe_reply(self, conn: Connection, update_key: str) -> None:
        """Mark the reply kept for `update_key` as certainly never delivered (owed)."""
        _OWE_REPLY.rowcount(conn, {"the_update_key": update_key})

    def clear_replies(
        self, conn: Connection, after: AfterCommit, respondent: str, keep: str | None = None
    ) -> int:
        """Drop every reply kept for this person (but the one for `keep`); how many."""
        where = [processed_updates.c.respondent == respondent]
        if keep is not None:
            where.append(processed_updates.c.update_key != keep)
        cleared = conn.execute(
            update(processed_updates).where(and_(*where)).values(respondent=None, reply=None)
        ).rowcount
        if cleared:
            after.checkpoint = True
        return int(cleared)

    def reply_is_closing(self, update_key: str, now: datetime) -> None:
        """Note that the reply kept for `update_key` ended an interview (see `_closing`)."""
        self._closing[update_key] = now

    # -- sealing ------------------------------------------------------------------------

    def _seal(
        self,
        conn: Connection,
        after: AfterCommit,
        respondent: str,
        account: FinishedAccount,
        channel: str,
        now: datetime,
    ) -> str:
        """Seal the account (with its files' keys) into the outbox; drop unused draft files."""
        wanted = {file_id for answer in account.answers for file_id in answer.files}
        rows = conn.execute(
            select(files.c.file_id, files.c.details).where(
                files.c.respondent == respondent, files.c.account_id.is_(None)
            )
        ).all()
        entries: list[dict[str, Any]] = []
        attached: list[str] = []
        key = (
            self._existing_key(conn, respondent) if any(r.file_id in wanted for r in rows) else None
        )
        for row in rows:
            if key is None or row.file_id not in wanted:
                continue
            try:
                details = drafts.decrypt_file_details(key, row.file_id, row.details)
            except CorruptDraft:
                continue
            entries.append(details.sealed_entry())
            attached.append(row.file_id)
        # The account is sealed even when a file cannot be: losing a whole account over
        # one unreadable voice note would be worse. Its hash stays in the answers.
        if len(attached) < len(wanted):
            log.warning("%d attached file(s) could not be sealed", len(wanted) - len(attached))
        unused = [row.file_id for row in rows if row.file_id not in attached]
        body = {
            **account.body(),
            "custody": {
                "channel": channel,
                "sealed_at": now.isoformat(),
                "node_fingerprint": self.node.fingerprint,
                "files": entries,
            },
        }
        # Read at seal time, not at start: the keys current now are the ones promised.
        sealed = seal_account(
            body, account_metadata(self.node, account, channel), self.reviewers, self.node
        )
        conn.execute(insert(outbox).values(**outbox_row(sealed, now)))
        remember_sent_code(conn, self.node, account.reference_code)
        if attached:
            conn.execute(
                update(files)
                .where(files.c.file_id.in_(attached))
                .values(respondent=None, details=None, account_id=sealed.account_id)
            )
        if unused:
            conn.execute(delete(files).where(files.c.file_id.in_(unused)))
            after.unlink.extend(self.vault.path(f) for f in unused)
        return sealed.account_id

    @property
    def reviewers(self) -> tuple[ReviewerPublicKey, ...]:
        """The keys an account sealed now is sealed to (ReviewerKeysUnavailable if none)."""
        return tuple(self._reviewers())

    def _existing_key(self, conn: Connection, respondent: str) -> bytes | None:
        """The draft's data key, or None when there is none or it cannot be opened."""
        found = _WRAPPED_KEY.first(conn, {"respondent": respondent})
        if found is None:
            return None
        try:
            return drafts.open_draft_key(self.node.master_key, respondent, found[0])
        except CorruptDraft:
            return None

    # -- files, chat ids, expiry ----------------------------------------------------------

    def register_file(
        self,
        conn: Connection,
        after: AfterCommit,
        respondent: str,
        written: WrittenFile,
        kind: str,
        mime_type: str | None,
        now: datetime,
    ) -> None:
        """Record a file written to the vault, its key encrypted under the draft's key."""
        key = self._draft_key(conn, after, respondent, now)
        details = FileDetails(
            written.file_id, written.key, kind, mime_type, written.sha256, written.size
        )
        conn.execute(
            insert(files).values(
                file_id=written.file_id,
                respondent=respondent,
                account_id=None,
                details=drafts.encrypt_file_details(key, details),
                stored_size=written.stored_size,
                created_at=now,
            )
        )

    def remember_messages(
        self,
        conn: Connection,
        after: AfterCommit,
        respondent: str,
        message_ids: Sequence[int],
        now: datetime,
        reply_sent: str | None = None,
    ) -> None:
        """Keep sent message ids for erasure; with `reply_sent`, drop that update's kept reply."""
        if reply_sent is not None:
            self.clear_reply(conn, after, reply_sent)
        if not message_ids:
            return
        wrapped, blob = drafts.encrypt_message_ids(self.node.master_key, respondent, message_ids)
        values = {"respondent": respondent, "wrapped_key": wrapped, "blob": blob, "created_at": now}
        _REMEMBER.rowcount(conn, values)
        if self._forgot is None or not self._forgot <= now < self._forgot + FORGET_EVERY:
            self.forget_old_messages(conn, now)

    def forget_old_messages(self, conn: Connection, now: datetime) -> int:
        self._forgot = now
        cutoff = now - CHAT_IDS_KEPT
        return conn.execute(
            delete(chat_messages).where(chat_messages.c.created_at < cutoff)
        ).rowcount

    def expire(self, conn: Connection, after: AfterCommit, now: datetime) -> int:
        """Shred drafts past their expiry and drop bookkeeping nobody needs any more."""
        due = list(
            conn.execute(
                select(sessions.c.respondent).where(sessions.c.expires_at <= now)
            ).scalars()
        )
        for respondent in due:
            self.shred(conn, after, respondent)
            self.clear_replies(conn, after, respondent)
        if self.forget_old_messages(conn, now):
            after.checkpoint = True
        unsent = conn.execute(
            update(processed_updates)
            .where(
                processed_updates.c.reply.is_not(None),
                processed_updates.c.processed_at < now - REPLIES_KEPT,
            )
            .values(respondent=None, reply=None)
        ).rowcount
        if unsent:
            after.checkpoint = True
        for key, at in list(self._closing.items()):
            if at < now - REPLIES_KEPT:
                self._closing.pop(key, None)
        conn.execute(
            delete(processed_updates).where(
                processed_updates.c.processed_at < now - self.draft_lifetime
            )
        )
        conn.execute(
            delete(withdrawal_attempts).where(
                withdrawal_attempts.c.attempted_at <= now - WITHDRAWAL_WINDOW
            )
        )
        return len(due)
