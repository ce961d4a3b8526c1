"""An in-memory IntakeStore with the SQL store's behaviour, for tests of other packages.

Nothing is encrypted or durable; everything else matches `SqlIntakeStore`: a repeated
update key is applied once, sessions round-trip through their JSON form, a submitted
account lands in `outbox` (unsealed here, so tests can read it), withdrawals remove a
matching outbox entry or are kept as requests, attempts are rate-limited, drafts expire,
files over `max_bytes` raise FileTooLarge, chat message ids older than 48 hours are dropped,
a turn's reply is kept with its update key (in `replies`) until sent, shredded or stale.
`corrupt(respondent)` makes a draft unreadable, to test how callers handle CorruptDraft.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from flows.types import MediaRef, RecordWithdrawal, Session, ShredDraft, Turn
from storage.crypto import NodeKeys, withdrawal_hash
from storage.errors import CorruptDraft, FileTooLarge
from storage.intake.outbox import (
    WITHDRAWAL_LIMIT,
    WITHDRAWAL_WINDOW,
    WithdrawalOutcome,
    account_metadata,
)
from storage.intake.replies import PendingReply
from storage.intake.rows import CHAT_IDS_KEPT, REPLIES_KEPT, TurnResult
from storage.intake.sent_codes import CodeCheck


@dataclass(frozen=True)
class MemoryAccount:
    """A submitted account as the fake keeps it: the metadata and body the store would seal."""

    account_id: str
    metadata: dict[str, Any]
    body: dict[str, Any]


@dataclass
class _Draft:
    state: str | None  # Session JSON; None while only files exist
    updated_at: datetime
    files: dict[str, bytes] = field(default_factory=dict)
    corrupt: bool = False


class MemoryIntakeStore:
    """The IntakeStore protocol in memory."""

    def __init__(self, node: NodeKeys | None = None, *, draft_days: int = 7) -> None:
        self.node = node or NodeKeys.generate()
        self.draft_lifetime = timedelta(days=draft_days)
        self.drafts: dict[str, _Draft] = {}
        self.processed: dict[str, datetime] = {}
        self.replies: dict[str, tuple[str, PendingReply]] = {}  # update key -> (respondent, reply)
        self.owed: set[str] = set()  # update keys whose kept reply never reached the person
        self.outbox: list[MemoryAccount] = []
        self.account_files: dict[str, bytes] = {}
        self.withdrawal_requests: set[str] = set()
        self.sent_codes: set[str] = set()  # NodeKeys.sent_code_digest of each account sent
        self.attempts: dict[str, list[datetime]] = {}
        self.messages: dict[str, list[tuple[datetime, int]]] = {}
        self._lock = asyncio.Lock()

    async def load_session(self, respondent: str) -> Session | None:
        draft = self.drafts.get(respondent)
        if draft is None or draft.state is None:
            return None
        if draft.corrupt:
            raise CorruptDraft()
        return Session.from_dict(json.loads(draft.state))

    async def load_turn(
        self, respondent: str, update_key: str | None
    ) -> tuple[bool, Session | None, PendingReply | None]:
        if update_key is not None and update_key in self.processed:
            kept = self.replies.get(update_key)
            if kept is None or kept[0] != respondent:
                return True, None, None
            return True, await self.load_session(respondent), kept[1]
        owed = None
        if update_key is not None:
            for key, (whose, reply) in self.replies.items():  # oldest first: keep the last
                if whose == respondent and key in self.owed:
                    owed = dataclasses.replace(reply, owed_from=key)
        return False, await self.load_session(respondent), owed

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
        async with self._lock:
            if update_key is not None:
                if update_key in self.processed:
                    return TurnResult(applied=False)
                self.processed[update_key] = now
            if supersedes is not None:
                self.replies.pop(supersedes, None)
            account_id = None
            if turn.account is not None:
                account = turn.account
                draft = self.drafts.get(respondent)
                wanted = {f for answer in account.answers for f in answer.files}
                attached = {f: b for f, b in (draft.files if draft else {}).items() if f in wanted}
                account_id = secrets.token_hex(16)
                metadata = account_metadata(self.node, account, channel)
                body = {
                    **account.body(),
                    "custody": {"channel": channel, "files": sorted(attached)},
                }
                self.outbox.append(MemoryAccount(account_id, metadata, body))
                self.sent_codes.add(self.node.sent_code_digest(account.reference_code))
                self.account_files.update(attached)
                if draft:
                    draft.files.clear()
            outcomes = tuple(
                self._withdraw(respondent, effect.reference_code, now)
                for effect in turn.effects
                if isinstance(effect, RecordWithdrawal)
            )
            if update_key is not None and reply is not None:
                kept = dataclasses.replace(reply, withdrawals=outcomes) if outcomes else reply
                self.replies[update_key] = (respondent, kept)
            if turn.session is None or any(isinstance(e, ShredDraft) for e in turn.effects):
                self.drafts.pop(respondent, None)
                self._clear_replies(respondent, keep=update_key)
            else:
                draft = self.drafts.get(respondent)
                if draft is None or draft.corrupt:
                    draft = self.drafts[respondent] = _Draft(None, now)
                draft.state = json.dumps(turn.session.to_dict())
                draft.updated_at = now
            return TurnResult(applied=True, withdrawals=outcomes, account_id=account_id)

    async def check_withdrawal_code(self, respondent: str, code: str, now: datetime) -> CodeCheck:
        async with self._lock:
            recent = [t for t in self.attempts.get(respondent, []) if t > now - WITHDRAWAL_WINDOW]
            if self._sent(code):
                return "sent"  # even at the limit: a code that matches is not a guess
            self.attempts[respondent] = [*recent, now]
            return "rate-limited" if len(recent) >= WITHDRAWAL_LIMIT else "unknown"

    def _sent(self, code: str) -> bool:
        hashed = withdrawal_hash(self.node.withdrawal_secret(code))
        return self.node.sent_code_digest(code) in self.sent_codes or any(
            a.metadata.get("withdrawal_hash") == hashed for a in self.outbox
        )

    def _withdraw(self, respondent: str, code: str, now: datetime) -> WithdrawalOutcome:
        recent = [t for t in self.attempts.get(respondent, []) if t > now - WITHDRAWAL_WINDOW]
        if len(recent) >= WITHDRAWAL_LIMIT and not self._sent(code):
            return "rate-limited"
        self.attempts[respondent] = [*recent, now]
        secret = self.node.withdrawal_secret(code)
        self.withdrawal_requests.add(secret)
        before = len(self.outbox)
        hashed = withdrawal_hash(secret)
        self.outbox = [a for a in self.outbox if a.metadata.get("withdrawal_hash") != hashed]
        return "removed" if len(self.outbox) < before else "requested"

    async def store_file(
        self, respondent: str, src: BinaryIO, kind: str, mime: str | None, max_bytes: int
    ) -> MediaRef:
        data = src.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise FileTooLarge()
        file_id = secrets.token_hex(16)
        async with self._lock:
            draft = self.drafts.setdefault(respondent, _Draft(None, datetime.now(UTC)))
            draft.files[file_id] = data
        return MediaRef(file_id, kind, hashlib.sha256(data).hexdigest(), len(data), mime)

    async def remember_messages(
        self,
        respondent: str,
        message_ids: Sequence[int],
        now: datetime,
        *,
        reply_sent: str | None = None,
    ) -> None:
        if reply_sent is not None:
            self.replies.pop(reply_sent, None)
        if not message_ids:
            return
        kept = self.messages.setdefault(respondent, [])
        kept.extend((now, int(i)) for i in message_ids)
        self._forget_old_messages(now)

    async def forget_reply(self, update_key: str) -> None:
        self.replies.pop(update_key, None)

    async def owe_reply(self, update_key: str) -> None:
        if update_key in self.replies:
            self.owed.add(update_key)

    def _clear_replies(self, respondent: str, keep: str | None = None) -> None:
        for key, (whose, _reply) in list(self.replies.items()):
            if whose == respondent and key != keep:
                del self.replies[key]

    def _forget_old_messages(self, now: datetime) -> None:
        for respondent, kept in list(self.messages.items()):
            fresh = [(t, i) for t, i in kept if t >= now - CHAT_IDS_KEPT]
            if fresh:
                self.messages[respondent] = fresh
            else:
                del self.messages[respondent]

    async def chat_messages(self, respondent: str, since: datetime) -> list[int]:
        return sorted({i for t, i in self.messages.get(respondent, []) if t >= since})

    async def expire_drafts(self, now: datetime) -> int:
        due = [r for r, d in self.drafts.items() if d.updated_at + self.draft_lifetime <= now]
        for respondent in due:
            del self.drafts[respondent]
            self._clear_replies(respondent)
        self._forget_old_messages(now)
        for key, at in list(self.processed.items()):
            if at < now - REPLIES_KEPT:
                self.replies.pop(key, None)
            if at < now - self.draft_lifetime:
                del self.processed[key]
        return len(due)

    def corrupt(self, respondent: str) -> None:
        """Make the respondent's draft unreadable (load_session raises CorruptDraft)."""
        self.drafts[respondent].corrupt = True

    async def close(self) -> None:
        return None
