"""The intake store: encrypted drafts, idempotent turns, the outbox of sealed accounts.

    store = await open_intake_store(None, node_keys, reviewers, data_dir=Path("attest-data"))
    session = await store.load_session(respondent)          # None, or CorruptDraft
    result = await store.commit_turn(respondent, turn, update_key=key, channel="telegram",
                                     now=now, reply=pending)  # the reply is kept with the turn
    if not result: ...                                       # a repeated update: nothing applied
    await store.remember_messages(respondent, sent_ids, now, reply_sent=key)  # sent: drop it

SQLAlchemy Core on a *sync* engine. Writes go through one writer thread with group
commit (`storage.intake.writer`); reads go through one reader thread, batched the same way
(`storage.intake.reader`).
`commit_turn` returns only once its transaction is durable (SQLite: WAL fsynced,
`synchronous=FULL`), so a reply sent after it never announces something that a power cut
could lose. Migrations (Alembic) run when the store opens.

Shredding (quick exit, expiry, `turn.session is None`) deletes the wrapped data key, the
state and the draft's files; on SQLite `secure_delete` overwrites the freed bytes and a
WAL checkpoint(TRUNCATE) empties the WAL before `commit_turn` returns. PostgreSQL cannot
promise that: see the README's storage section.

A draft that cannot be opened gives `CorruptDraft` (no content in it). Committing a new
session for that respondent replaces it with a fresh key: the caller may start over.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

from sqlalchemy import Connection, Engine, bindparam, select, true

from flows.types import MediaRef, Session, Turn
from storage.crypto import NodeKeys, ReviewerPublicKey
from storage.db import checkpoint_wal, create_store_engine, read_connection, sqlite_pragmas
from storage.errors import CorruptDraft
from storage.intake import documenters, drafts, migrations, replies, sent_codes
from storage.intake.hot import HotStatement
from storage.intake.reader import BatchReader
from storage.intake.replies import PendingReply
from storage.intake.respondent_lock import RespondentLocks
from storage.intake.rows import IntakeRows, TurnResult, WithdrawalOutcome
from storage.intake.sent_codes import CodeCheck
from storage.intake.tables import chat_messages, files, processed_updates, sessions
from storage.intake.vault import FileVault
from storage.intake.writer import MAX_BATCH, AfterCommit, GroupCommitWriter

__all__ = [
    "CodeCheck",
    "IntakeStore",
    "PendingReply",
    "SqlIntakeStore",
    "TurnResult",
    "WithdrawalOutcome",
    "open_intake_store",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
DATABASE_FILE = "intake.db"
FILES_DIR = "files"
EXPIRY_INTERVAL = 3600.0  # seconds between automatic expiry runs
# Every turn's reads: compiled once per database, run on the driver (storage/intake/hot.py).
_PROCESSED = HotStatement(
    select(processed_updates.c.reply).where(
        processed_updates.c.update_key == bindparam("update_key")
    )
)
# The newest reply still kept for an earlier update of a person (usually none: the index
# on `respondent` holds only rows whose reply is still kept).
_OWED = HotStatement(
    select(processed_updates.c.update_key, processed_updates.c.reply)
    .where(
        processed_updates.c.respondent == bindparam("respondent"),
        processed_updates.c.reply.is_not(None),
        processed_updates.c.owed == true(),
    )
    .order_by(processed_updates.c.processed_at.desc(), processed_updates.c.update_key.desc())
)
_DRAFT = HotStatement(
    select(sessions.c.wrapped_key, sessions.c.blob).where(
        sessions.c.respondent == bindparam("respondent")
    )
)


class IntakeStore(Protocol):
    """What bot/ needs from storage (docs/contracts.md); SqlIntakeStore and MemoryIntakeStore."""

    async def load_session(self, respondent: str) -> Session | None: ...

    async def load_turn(
        self, respondent: str, update_key: str | None
    ) -> tuple[bool, Session | None, PendingReply | None]: ...

    async def commit_turn(
        self,
        respondent: str,
        turn: Turn,
        *,
        update_key: str | None,
        channel: str,
        now: datetime,
        reply: PendingReply | None = None,
        supersedes: str | None = None,
    ) -> TurnResult: ...

    async def check_withdrawal_code(
        self, respondent: str, code: str, now: datetime
    ) -> CodeCheck: ...

    async def forget_reply(self, update_key: str) -> None: ...

    async def owe_reply(self, update_key: str) -> None: ...

    async def store_file(
        self, respondent: str, src: BinaryIO, kind: str, mime: str | None, max_bytes: int
    ) -> MediaRef: ...

    async def remember_messages(
        self,
        respondent: str,
        message_ids: Sequence[int],
        now: datetime,
        *,
        reply_sent: str | None = None,
    ) -> None: ...

    async def chat_messages(self, respondent: str, since: datetime) -> list[int]: ...

    async def expire_drafts(self, now: datetime) -> int: ...

    async def close(self) -> None: ...


class SqlIntakeStore:
    """The intake store on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, rows: IntakeRows, *, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self._rows = rows
        self._checkpoint_owed = False
        self._writer = GroupCommitWriter(engine, self._after_commit, max_batch)
        self._reader = BatchReader(engine)
        self._expiry: asyncio.Task[None] | None = None
        self._locks = RespondentLocks(engine)

    def respondent_lock(self, respondent: str) -> AbstractAsyncContextManager[None]:
        """Cross-process per-person lock (PostgreSQL advisory lock; nothing on SQLite)."""
        return self._locks.hold(respondent)

    # -- reads ------------------------------------------------------------------------------

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        return await self._reader.run(fn)

    async def load_session(self, respondent: str) -> Session | None:
        """The respondent's draft, or None; CorruptDraft when it cannot be opened."""

        # Decrypted on the reader thread too, keeping the event loop free for I/O.
        return await self._read(lambda conn: self._open_draft(conn, respondent))

    def _open_draft(self, conn: Connection, respondent: str) -> Session | None:
        """The draft (CorruptDraft if damaged); its opened key goes to the writer's cache."""
        row = _DRAFT.first(conn, {"respondent": respondent})
        if row is None or row[1] is None:
            return None
        wrapped, blob = row
        key = drafts.open_draft_key(self._rows.node.master_key, respondent, wrapped)
        session = drafts.decrypt_session(key, respondent, blob)
        self._rows.offer_key(respondent, wrapped, key)  # the next save reuses it
        return session

    async def load_turn(
        self, respondent: str, update_key: str | None
    ) -> tuple[bool, Session | None, PendingReply | None]:
        """(already processed, draft, kept reply) in one read: what a turn needs first.

        A new update: (False, draft, owed), the draft as `load_session` gives it,
        CorruptDraft included, and `owed` the newest reply kept for an earlier update of
        this person and marked as never delivered (`owe_reply`; its `owed_from` says
        which), or None. An update processed and replied to: (True, None, None).
        Processed with its reply still kept (not yet sent): (True, draft, reply), so the
        caller can tell whether the reply is still current. One trip to the reader thread.
        """

        rows = self._rows

        def opened(key: str, blob: bytes) -> PendingReply | None:
            """A kept reply, or None when it cannot be opened (it is not sent again)."""
            try:
                reply = replies.decrypt_reply(rows.node.master_key, respondent, key, blob)
            except CorruptDraft:
                log.warning("a kept reply could not be opened; it is not sent again")
                return None
            if reply.end is not None:
                rows.reply_is_closing(key, datetime.now(UTC))
            return reply

        def read(conn: Connection) -> tuple[bool, Session | None, PendingReply | None]:
            pending = None
            if update_key is not None:
                seen = _PROCESSED.first(conn, {"update_key": update_key})
                if seen is not None:
                    (kept,) = seen
                    pending = opened(update_key, kept) if kept is not None else None
                    if pending is None:
                        return True, None, None
                    return True, self._open_draft(conn, respondent), pending
                owed = _OWED.first(conn, {"respondent": respondent})
                if owed is not None and (pending := opened(*owed)) is not None:
                    pending = dataclasses.replace(pending, owed_from=owed[0])
            return False, self._open_draft(conn, respondent), pending

        return await self._read(read)

    async def chat_messages(self, respondent: str, since: datetime) -> list[int]:
        """Message ids remembered for the respondent since `since` (at most 48 hours back)."""

        def read(conn: Connection) -> list[tuple[bytes, bytes]]:
            rows = conn.execute(
                select(chat_messages.c.wrapped_key, chat_messages.c.blob)
                .where(
                    chat_messages.c.respondent == respondent, chat_messages.c.created_at >= since
                )
                .order_by(chat_messages.c.id)
            ).all()
            return [(row.wrapped_key, row.blob) for row in rows]

        found: list[int] = []
        damaged = 0
        for wrapped, blob in await self._read(read):
            try:
                found.extend(
                    drafts.decrypt_message_ids(
                        self._rows.node.master_key, respondent, wrapped, blob
                    )
                )
            except CorruptDraft:
                damaged += 1
        if damaged:
            log.warning("%d damaged chat message record(s) skipped", damaged)
        return sorted(set(found))

    # -- writes -----------------------------------------------------------------------------

    async def commit_turn(
        self,
        respondent: str,
        turn: Turn,
        *,
        update_key: str | None,
        channel: str,
        now: datetime,
        reply: PendingReply | None = None,
        supersedes: str | None = None,
    ) -> TurnResult:
        """Save everything the turn changed in one transaction; returns once durable.

        With an update key, `reply` is kept (encrypted) with the turn until
        `remember_messages(..., reply_sent=update_key)` or `forget_reply` drops it.
        `supersedes`: the update whose owed reply this turn's reply carries on; its kept
        copy is dropped in the same transaction.
        """
        job = functools.partial(
            self._rows.apply_turn,
            respondent=respondent,
            turn=turn,
            update_key=update_key,
            channel=channel,
            now=now,
            reply=reply,
            supersedes=supersedes,
        )
        return await self._writer.run(job)

    async def check_withdrawal_code(self, respondent: str, code: str, now: datetime) -> CodeCheck:
        """Whether this node sent an account with `code` (storage/intake/sent_codes.py).

        "sent", "unknown" (counted as an attempt) or "rate-limited"; nothing is recorded
        for sync. Runs before the turn that answers it.
        """
        node = self._rows.node
        return await self._writer.run(
            lambda conn, after: sent_codes.check_withdrawal_code(
                conn, node=node, respondent=respondent, code=code, now=now
            )
        )

    async def forget_reply(self, update_key: str) -> None:
        """Drop the reply kept for `update_key` (no longer current: it will not be sent)."""
        await self._writer.run(lambda conn, after: self._rows.clear_reply(conn, after, update_key))

    async def owe_reply(self, update_key: str) -> None:
        """Mark the reply kept for `update_key` as never delivered: owed to the next message."""
        await self._writer.run(lambda conn, after: self._rows.owe_reply(conn, update_key))

    async def store_file(
        self, respondent: str, src: BinaryIO, kind: str, mime: str | None, max_bytes: int
    ) -> MediaRef:
        """Encrypt `src` into the vault under the respondent's draft; FileTooLarge when over."""
        vault = self._rows.vault
        written = await asyncio.to_thread(vault.write, src, max_bytes)
        now = datetime.now(UTC)
        job = functools.partial(
            self._rows.register_file,
            respondent=respondent,
            written=written,
            kind=kind,
            mime_type=mime,
            now=now,
        )
        try:
            await self._writer.run(job)
        except BaseException:
            vault.remove([written.file_id])
            raise
        return MediaRef(written.file_id, kind, written.sha256, written.size, mime)

    async def remember_messages(
        self,
        respondent: str,
        message_ids: Sequence[int],
        now: datetime,
        *,
        reply_sent: str | None = None,
    ) -> None:
        """Keep message ids for erasure; `reply_sent`: that update's reply went out, drop it.

        Both in one write, so a reply is never dropped without its message ids.
        """
        if not message_ids and reply_sent is None:
            return
        ids = tuple(message_ids)
        await self._writer.run(
            lambda conn, after: self._rows.remember_messages(
                conn, after, respondent, ids, now, reply_sent
            )
        )

    # -- documenter invites (storage/intake/documenters.py) ---------------------------------

    async def issue_invite(self, *, note: str, days: int, now: datetime) -> tuple[str, str]:
        """A new single-use invite: (code, pseudonym). Only the code's hash is kept."""
        node = self._rows.node
        return await self._writer.run(
            lambda conn, after: documenters.issue_invite(conn, node, note=note, days=days, now=now)
        )

    async def list_documenters(self) -> list[documenters.Documenter]:
        node = self._rows.node
        return await self._read(lambda conn: documenters.list_documenters(conn, node))

    async def revoke_documenter(self, pseudonym: str, now: datetime) -> bool:
        """Revoke; the documenter's unfinished draft is shredded. True when one was."""

        def job(conn: Connection, after: AfterCommit) -> bool:
            respondent = documenters.revoke(conn, pseudonym, now)
            if respondent is None:
                return False
            shredded = self._rows.shred(conn, after, respondent)
            self._rows.clear_replies(conn, after, respondent, keep=None)
            return shredded

        return await self._writer.run(job)

    async def bind_invite(
        self, respondent: str, code: str, now: datetime
    ) -> tuple[documenters.BindOutcome, str | None]:
        node = self._rows.node
        return await self._writer.run(
            lambda conn, after: documenters.bind_invite(conn, node, respondent, code, now)
        )

    async def documenter_profile(self, pseudonym: str) -> dict[str, str]:
        node = self._rows.node
        return await self._read(lambda conn: documenters.load_profile(conn, node, pseudonym))

    async def save_documenter_profile(self, pseudonym: str, profile: dict[str, str]) -> None:
        node = self._rows.node
        await self._writer.run(
            lambda conn, after: documenters.save_profile(conn, node, pseudonym, profile)
        )

    async def documenter_of(self, respondent: str) -> tuple[str, bool] | None:
        """(pseudonym, revoked) of the documenter bound to this respondent, or None."""
        return await self._read(lambda conn: documenters.documenter_of(conn, respondent))

    async def expire_drafts(self, now: datetime) -> int:
        """Shred drafts past their expiry; how many."""
        return await self._writer.run(functools.partial(self._rows.expire, now=now))

    def _after_commit(self, after: AfterCommit) -> None:
        for path in after.unlink:
            path.unlink(missing_ok=True)
        # A reader holding an old snapshot can block the checkpoint; then it is owed and
        # retried after every later commit until it goes through.
        if after.checkpoint or self._checkpoint_owed:
            self._checkpoint_owed = not checkpoint_wal(self.engine)
            if self._checkpoint_owed:
                log.warning("WAL checkpoint after a shred was blocked by a reader; retrying later")

    # -- the rest -----------------------------------------------------------------------------

    def pragmas(self) -> dict[str, str]:
        """SQLite PRAGMAs in force (empty on PostgreSQL)."""
        return sqlite_pragmas(self.engine)

    @property
    def commit_stats(self) -> tuple[int, int]:
        """(transactions, jobs) the writer has committed: jobs/transactions is the batching."""
        return self._writer.batches, self._writer.jobs

    def expire_regularly(self, every: float = EXPIRY_INTERVAL) -> None:
        """Shred expired drafts now and then every `every` seconds until the store closes."""

        async def loop() -> None:
            while True:
                try:
                    shredded = await self.expire_drafts(datetime.now(UTC))
                except Exception as error:  # keep expiring later; never take the bot down
                    log.error("expiring drafts failed (%s)", type(error).__name__)
                else:
                    if shredded:
                        log.info("shredded %d expired draft(s)", shredded)
                await asyncio.sleep(every)

        self._expiry = asyncio.get_running_loop().create_task(loop(), name="attest-expiry")

    async def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        await self._writer.close()
        await self._reader.close()
        self._locks.close()
        self.engine.dispose()


async def open_intake_store(
    url_or_path: str | Path | None,
    node_keys: NodeKeys,
    reviewers: Sequence[ReviewerPublicKey] | Callable[[], Sequence[ReviewerPublicKey]],
    *,
    data_dir: Path,
    draft_days: int = 7,
    max_batch: int = MAX_BATCH,
    expire: bool = True,
) -> SqlIntakeStore:
    """Open (creating and migrating) the store: SQLite `data_dir/intake.db` unless a URL is given.

    `max_batch` caps how many waiting writes share one commit (1: no group commit; bench/).
    With `expire`, expired drafts are shredded at once and then every hour while it is open.
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = create_store_engine(url_or_path or data_dir / DATABASE_FILE)
    await asyncio.to_thread(migrations.upgrade, engine)
    vault = FileVault(data_dir / FILES_DIR)
    await asyncio.to_thread(_sweep_files, engine, vault)
    rows = IntakeRows(node_keys, reviewers, vault, draft_days)
    store = SqlIntakeStore(engine, rows, max_batch=max_batch)
    if expire:
        store.expire_regularly()
    return store


def _sweep_files(engine: Engine, vault: FileVault) -> None:
    with read_connection(engine) as conn:
        known = set(conn.execute(select(files.c.file_id)).scalars())
    swept = vault.sweep(known)
    if swept:
        log.warning("removed %d unreadable file(s) left behind by an interrupted upload", swept)
