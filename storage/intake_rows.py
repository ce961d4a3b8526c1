"""The intake store's statements: what one turn, file, expiry or chat-id write does to the rows.

Every method runs on the writer thread inside the transaction (and savepoint) that
`storage.writer` opened, and records in `AfterCommit` what may only happen once that
transaction is durable: unlinking files, checkpointing the WAL after a shred.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from flows.types import FinishedAccount, RecordWithdrawal, Session, ShredDraft, Turn
from storage import drafts
from storage.crypto import NodeKeys, ReviewerPublicKey, seal_account
from storage.drafts import FileDetails
from storage.errors import CorruptDraft
from storage.outbox import (
    WITHDRAWAL_WINDOW,
    WithdrawalOutcome,
    account_metadata,
    insert_ignore,
    outbox_row,
    record_withdrawal,
    sealed_from_row,
)
from storage.tables import (
    chat_messages,
    files,
    outbox,
    processed_updates,
    sessions,
    withdrawal_attempts,
)
from storage.vault import FileVault, WrittenFile
from storage.writer import AfterCommit

# outbox_row and sealed_from_row are re-exported: sync and bench/sync.py import them here.
__all__ = ["IntakeRows", "TurnResult", "WithdrawalOutcome", "outbox_row", "sealed_from_row"]

log = logging.getLogger(__name__)

CHAT_IDS_KEPT = timedelta(hours=48)
KEY_CACHE_SIZE = 10_000
# Old chat message ids are dropped at most this often (and at every expiry run): a
# DELETE per remembered message would cost every turn for nothing.
FORGET_EVERY = timedelta(minutes=10)

# The statements of every turn, built once: SQLAlchemy reuses their compiled form instead
# of building and caching a new statement object per turn (bench/telegram.py).
_SAVE_DRAFT = (
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
_REMEMBER = insert(chat_messages).values(
    respondent=bindparam("respondent"),
    wrapped_key=bindparam("wrapped_key"),
    blob=bindparam("blob"),
    created_at=bindparam("created_at"),
)
_MARK_PROCESSED = {
    name: dialect.insert(processed_updates)
    .values(update_key=bindparam("update_key"), processed_at=bindparam("processed_at"))
    .on_conflict_do_nothing()
    .returning(processed_updates.c.update_key)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


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

    def __bool__(self) -> bool:
        return self.applied

    @property
    def withdrawal_limited(self) -> bool:
        return "rate-limited" in self.withdrawals


class IntakeRows:
    """Row-level operations of the intake store, for one node's keys and reviewers."""

    def __init__(
        self,
        node: NodeKeys,
        reviewers: Sequence[ReviewerPublicKey],
        vault: FileVault,
        draft_days: int,
    ) -> None:
        self.node = node
        self.reviewers = tuple(reviewers)
        self.vault = vault
        self.draft_lifetime = timedelta(days=draft_days)
        # respondent -> (wrapped key, data key) of recently opened or written drafts.
        # Filled by the writer, and by the reader when it opens a draft for a turn (so the
        # turn's save needs no second read of the wrapped key, however many drafts exist).
        self._keys: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
        self._keys_lock = threading.Lock()
        self._forgot: datetime | None = None  # when old chat message ids were last dropped

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
    ) -> TurnResult:
        """Everything a turn changes, or nothing when `update_key` was already applied."""
        if update_key is not None:
            marked = _MARK_PROCESSED.get(conn.dialect.name)
            if marked is None:
                fresh = insert_ignore(
                    conn, processed_updates, {"update_key": update_key, "processed_at": now}
                )
            else:
                values = {"update_key": update_key, "processed_at": now}
                fresh = conn.execute(marked, values).first() is not None
            if not fresh:
                return TurnResult(applied=False)
        account_id = None
        if turn.account is not None:
            account_id = self._seal(conn, after, respondent, turn.account, channel, now)
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
        shred = turn.session is None or any(isinstance(e, ShredDraft) for e in turn.effects)
        if shred:
            self.shred(conn, after, respondent)
        else:
            assert turn.session is not None
            self._save_session(conn, after, respondent, turn.session, now)
        return TurnResult(applied=True, withdrawals=outcomes, account_id=account_id)

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
            saved = conn.execute(
                _SAVE_DRAFT,
                {
                    "the_respondent": respondent,
                    "the_wrapped_key": wrapped,
                    "the_blob": drafts.encrypt_session(key, session),
                    "the_updated_at": now,
                    "the_expires_at": now + self.draft_lifetime,
                },
            ).rowcount
            if saved == 1:
                return
        key = self._draft_key(conn, after, respondent, now)
        conn.execute(
            update(sessions)
            .where(sessions.c.respondent == respondent)
            .values(
                blob=drafts.encrypt_session(key, session),
                updated_at=now,
                expires_at=now + self.draft_lifetime,
            )
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
        wrapped = conn.execute(
            select(sessions.c.wrapped_key).where(sessions.c.respondent == respondent)
        ).scalar_one_or_none()
        if wrapped is not None:
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
        conn.execute(
            insert(sessions).values(
                respondent=respondent,
                wrapped_key=wrapped,
                blob=None,
                updated_at=now,
                expires_at=now + self.draft_lifetime,
            )
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
        sealed = seal_account(
            body, account_metadata(self.node, account, channel), self.reviewers, self.node
        )
        conn.execute(insert(outbox).values(**outbox_row(sealed, now)))
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

    def _existing_key(self, conn: Connection, respondent: str) -> bytes | None:
        """The draft's data key, or None when there is none or it cannot be opened."""
        wrapped = conn.execute(
            select(sessions.c.wrapped_key).where(sessions.c.respondent == respondent)
        ).scalar_one_or_none()
        if wrapped is None:
            return None
        try:
            return drafts.open_draft_key(self.node.master_key, respondent, wrapped)
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
        self, conn: Connection, respondent: str, message_ids: Sequence[int], now: datetime
    ) -> None:
        wrapped, blob = drafts.encrypt_message_ids(self.node.master_key, respondent, message_ids)
        values = {"respondent": respondent, "wrapped_key": wrapped, "blob": blob, "created_at": now}
        conn.execute(_REMEMBER, values)
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
        if self.forget_old_messages(conn, now):
            after.checkpoint = True
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
