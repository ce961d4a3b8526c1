"""Reviewer actions that change an account: claim, release, triage.

Mixed into `storage.queue.store.Queue`; each writes its audit entry in its own transaction, as
the last statement. Claims never hand out an account another reviewer holds: one
statement both picks and takes the next account (`UPDATE ... WHERE id = (SELECT ... FOR
UPDATE SKIP LOCKED) RETURNING id` on PostgreSQL; on SQLite the same UPDATE ... RETURNING
inside BEGIN IMMEDIATE, which holds the database's single write lock). `locking=False`
exists only so a test can show the naive read-then-write version hands out duplicates.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from storage.db import read_connection
from storage.queue import audit
from storage.queue.audit import AuditSigner
from storage.queue.columns import ACCOUNT_COLUMNS, ORDER, PENDING_WITHDRAWAL, VISIBLE, damaged_time
from storage.queue.items import (
    AccountNotFound,
    AccountWithdrawn,
    HeldByAnother,
    NotHeld,
    UnknownStatus,
    normal_tag,
    reviewer_actor,
    stored_time,
)
from storage.queue.tables import (
    OPEN_ACCOUNTS,
    STATUSES,
    account_notes,
    account_tags,
    accounts,
)


def _sealed_to(sealed: str | None, fingerprint: str) -> bool:
    """Whether a stored SealedAccount (JSON) lists `fingerprint` among its recipients."""
    if not sealed:
        return False
    try:
        recipients = json.loads(sealed).get("recipients")
    except (ValueError, AttributeError):
        return False  # damaged: `review show` says so; never handed out blind
    return isinstance(recipients, dict) and fingerprint in recipients


class QueueActions:
    """Claim, release and triage; needs `engine`, `lease` and `clock` from the class it is mixed into."""

    engine: Engine
    lease: timedelta
    clock: Callable[[], datetime]
    signer: AuditSigner | None

    def claim_next(
        self,
        reviewer: str,
        *,
        locking: bool = True,
        between: Callable[[], None] | None = None,
    ) -> str | None:
        """Take the next unheld account (urgent, then oldest) with a lease; its id, or None."""
        now = self.clock()
        claimable = self._claimable(now)
        pick = select(accounts.c.id).where(claimable).order_by(*ORDER).limit(1)
        values = {
            "status": "in-review",
            "assignee": reviewer,
            "lease_until": now + self.lease,
            "updated_at": now,
        }
        if not locking:
            return self._claim_unlocked(reviewer, pick, values, between)
        if self.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(accounts)
                .where(accounts.c.id == pick.scalar_subquery())
                .values(**values)
                .returning(accounts.c.id)
            ).scalar_one_or_none()
            if claimed is not None:
                audit.append(
                    conn, reviewer_actor(reviewer), "claimed", claimed, {}, now, self.signer
                )
        return claimed

    def claim_next_openable(
        self, reviewer: str, *, resealed: Collection[str] = (), batch: int = 50
    ) -> tuple[str | None, int]:
        """As `claim_next`, but only an account `reviewer`'s key can open: its sealed
        envelope lists that fingerprint among its recipients, or it was resealed to it
        (`resealed`: those ids, from the small reseals table). No passphrase is needed:
        the envelope names its recipients in the clear. (the id or None, how many
        accounts ahead of it were passed over).

        Candidates are read in the queue's order, then the chosen one is taken by an
        UPDATE that repeats the claimable condition, so a claim never takes an account
        another reviewer took meanwhile; one taken meanwhile is simply passed.
        """
        now = self.clock()
        claimable = self._claimable(now)
        passed: set[str] = set()
        values = {
            "status": "in-review",
            "assignee": reviewer,
            "lease_until": now + self.lease,
            "updated_at": now,
        }
        while True:
            with read_connection(self.engine) as conn:
                rows = conn.execute(
                    select(accounts.c.id, accounts.c.sealed)
                    .where(claimable)
                    .order_by(*ORDER)
                    .offset(len(passed))
                    .limit(batch)
                ).all()
            if not rows:
                return None, len(passed)
            for row in rows:
                if row.id in passed:
                    continue
                if row.id not in resealed and not _sealed_to(row.sealed, reviewer):
                    passed.add(str(row.id))
                    continue
                with self.engine.begin() as conn:
                    claimed = conn.execute(
                        update(accounts)
                        .where(accounts.c.id == row.id, claimable)
                        .values(**values)
                        .returning(accounts.c.id)
                    ).scalar_one_or_none()
                    if claimed is not None:
                        audit.append(
                            conn, reviewer_actor(reviewer), "claimed", claimed, {}, now, self.signer
                        )
                        return str(claimed), len(passed)

    def _claimable(self, now: datetime) -> Any:
        """New, or in review under a lease that ran out (or whose time is damaged)."""
        return and_(
            VISIBLE,
            # The partial index's own condition, as literal SQL: a planner matches an index
            # predicate only against the same terms, and bound parameters are not.
            OPEN_ACCOUNTS,
            or_(
                accounts.c.status == "new",
                and_(
                    accounts.c.status == "in-review",
                    # A lease whose time is damaged counts as no lease: claimable.
                    or_(
                        accounts.c.lease_until < now,
                        damaged_time(accounts.c.lease_until, self.engine.dialect.name),
                    ),
                ),
            ),
        )

    def _claim_unlocked(
        self,
        reviewer: str,
        pick: Any,
        values: dict[str, Any],
        between: Callable[[], None] | None,
    ) -> str | None:
        """TEST ONLY: read, then write in another transaction; races hand out duplicates."""
        with self.engine.begin() as conn:
            candidate = conn.execute(pick).scalar_one_or_none()
        if between is not None:
            between()
        if candidate is None:
            return None
        with self.engine.begin() as conn:
            conn.execute(update(accounts).where(accounts.c.id == candidate).values(**values))
        return str(candidate)

    def release(self, account_id: str, reviewer: str) -> str:
        """Let go of an account this reviewer holds; the status it has afterwards.

        A claim (in review) ends: the account is `new` again, and the audit entry records
        that change. Any other status its owner set (follow-up, referred, ...) is kept:
        releasing only gives up the ownership, so a survivor marked for follow-up never
        drops back among the new ones.
        """
        now = self.clock()
        with self.engine.begin() as conn:
            row = self.require_visible(conn, account_id)
            if row.assignee != reviewer or row.status == "new":
                raise NotHeld()
            status = "new" if row.status == "in-review" else str(row.status)
            result = conn.execute(
                update(accounts)
                .where(
                    accounts.c.id == account_id,
                    accounts.c.assignee == reviewer,
                    accounts.c.status == row.status,
                )
                .values(status=status, assignee=None, lease_until=None, updated_at=now)
            )
            if result.rowcount != 1:  # changed meanwhile (SQLite holds the write lock)
                raise NotHeld()
            detail = {"status": [row.status, status]} if status != row.status else {}
            audit.append(
                conn, reviewer_actor(reviewer), "released", account_id, detail, now, self.signer
            )
        return status

    def require_visible(self, conn: Connection, account_id: str) -> Any:
        query = select(*ACCOUNT_COLUMNS, PENDING_WITHDRAWAL.label("pending")).where(
            accounts.c.id == account_id
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=accounts)
        row = conn.execute(query).first()
        if row is None:
            raise AccountNotFound()
        if row.withdrawn or row.sealed is None or row.pending:
            raise AccountWithdrawn()
        return row

    def triage(
        self,
        account_id: str,
        reviewer: str,
        *,
        status: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
        note: Callable[[str], bytes] | None = None,
    ) -> dict[str, Any]:
        """Change status, tags, or add a note (`note(note_id)` returns its sealed bytes).

        Refused while another reviewer's lease is running. Returns what changed (the
        audit entry's detail: the status change, how many tags were added and removed, the
        note's id; never a tag's or a note's text).
        """
        if status is not None and status not in STATUSES:
            raise UnknownStatus()
        for tag in (*add_tags, *remove_tags):
            normal_tag(tag)  # InvalidTag before anything is written
        now = self.clock()
        with self.engine.begin() as conn:
            row = self.require_visible(conn, account_id)
            lease_until = stored_time(row.lease_until)  # None if damaged: no lease
            held_by_other = row.assignee not in (None, reviewer) and (
                # follow-up keeps its owner with no lease: only they may move it on
                row.status == "follow-up"
                or (row.status == "in-review" and lease_until is not None and lease_until > now)
            )
            if held_by_other:
                raise HeldByAnother()
            detail: dict[str, Any] = {}
            if status is not None and status != row.status:
                values: dict[str, Any] = {"status": status, "updated_at": now}
                if status == "in-review":
                    values.update(assignee=reviewer, lease_until=now + self.lease)
                elif status == "new":
                    values.update(assignee=None, lease_until=None)
                else:
                    values.update(assignee=reviewer, lease_until=None)
                conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
                detail["status"] = [row.status, status]
            current = set(
                conn.execute(
                    select(account_tags.c.tag).where(account_tags.c.account_id == account_id)
                ).scalars()
            )
            add_tags = [normal_tag(t) for t in add_tags]
            remove_tags = [normal_tag(t) for t in remove_tags]
            added = sorted({t for t in add_tags if t not in current})
            removed = sorted({t for t in remove_tags if t in current and t not in added})
            if added:
                conn.execute(
                    insert(account_tags), [{"account_id": account_id, "tag": t} for t in added]
                )
                # How many, never which: a tag is words a reviewer typed about the person,
                # and the audit log outlives a withdrawal (the tags themselves do not).
                detail["tags_added"] = len(added)
            if removed:
                conn.execute(
                    delete(account_tags).where(
                        account_tags.c.account_id == account_id, account_tags.c.tag.in_(removed)
                    )
                )
                detail["tags_removed"] = len(removed)
            if note is not None:
                note_id = uuid.uuid4().hex
                conn.execute(
                    insert(account_notes).values(
                        id=note_id,
                        account_id=account_id,
                        author=reviewer,
                        created_at=now,
                        sealed=note(note_id),
                    )
                )
                detail["note"] = note_id
            if detail:
                conn.execute(
                    update(accounts).where(accounts.c.id == account_id).values(updated_at=now)
                )
                audit.append(
                    conn, reviewer_actor(reviewer), "changed", account_id, detail, now, self.signer
                )
        return detail
