"""Withdrawal requests in the queue: hashed on arrival, bursts held, applied by hashing.

An account carries only `withdrawal_hash(secret)`; a request carries the secret, which
only the node can derive, and only from the person's reference code. Reading the queue
(a leak, a backup) therefore gives no way to withdraw anything.

Every request arrives with a batch id (one per sync or import). The next reviewer or
administrator command examines new requests (`examine_requests`): it hashes each secret
itself (a hash the sender wrote is never used) and accepts the batch, unless it holds
more than `withdrawal_burst` requests: then the whole batch is held, erases nothing, and
waits for an administrator (`attest queue withdrawals list|confirm|reject`). A single
withdrawal stays immediate and final. Before an account becomes a tombstone its stored
hash is compared once more with the hash of the request's secret.

Mixed into `storage.queue.store.Queue`.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, select, update

from storage.crypto.digests import withdrawal_hash
from storage.db import read_connection
from storage.errors import N_
from storage.queue import audit
from storage.queue.audit import AuditSigner
from storage.queue.columns import tolerant_time
from storage.queue.items import QueueError, stored_time
from storage.queue.schema import ACCEPTED, HELD
from storage.queue.schema import HELD_NOTICE as HELD_NOTICE
from storage.queue.schema import WAITING_NOTICE as WAITING_NOTICE
from storage.queue.tables import accounts, withdrawals

DEFAULT_WITHDRAWAL_BURST = 5
# Batches of requests carried in clear-tag form (a field kit from before 0003): always held.
OLD_FORMAT_BATCH = "old-"


class UnknownBatch(QueueError):
    default_message = N_(
        "No held withdrawals have that batch id. See `attest queue withdrawals list`."
    )


@dataclass(frozen=True)
class HeldBatch:
    """A burst of withdrawal requests waiting for an administrator."""

    batch: str
    requests: int
    first_requested: datetime | None
    last_requested: datetime | None
    account_ids: tuple[str, ...]  # accounts in the queue now that the batch would withdraw


class BadBurstSetting(QueueError):
    default_message = N_("ATTEST_WITHDRAWAL_BURST must be a whole number (0 or more).")


def withdrawal_burst_from_env(env: Mapping[str, str] | None = None) -> int:
    """ATTEST_WITHDRAWAL_BURST: more requests than this in one sync or import are held."""
    env = os.environ if env is None else env
    configured = env.get("ATTEST_WITHDRAWAL_BURST", "").strip()
    if not configured:
        return DEFAULT_WITHDRAWAL_BURST
    if not configured.isascii() or not configured.isdigit():
        raise BadBurstSetting()
    return int(configured)


def _typable(batch: str | None) -> bool:
    return bool(batch) and re.fullmatch(r"[0-9a-z-]{1,32}", str(batch)) is not None


def new_batch_id() -> str:
    return uuid.uuid4().hex[:16]


class QueueWithdrawals:
    """Examine, hold, confirm and reject withdrawal requests; needs engine, clock, burst."""

    engine: Engine
    clock: Callable[[], datetime]
    withdrawal_burst: int
    signer: AuditSigner | None

    @property
    def actor(self) -> str:
        """Who the entries of this queue's commands name: the signer, or the administrator."""
        return audit.ADMIN if self.signer is None else self.signer.actor

    def examine_requests(self) -> int:
        """Hash new requests; accept each batch, or hold it if it is a burst. How many held."""
        now = self.clock()
        pick = select(withdrawals.c.secret, withdrawals.c.batch).where(
            withdrawals.c.status.is_(None)
        )
        if self.engine.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        held = 0
        with self.engine.begin() as conn:
            batches: dict[str, list[str]] = {}
            # Requests without a usable batch id (none, or one no administrator could type)
            # count as one arrival under an id of the queue's own.
            unbatched = new_batch_id()
            for row in conn.execute(pick):
                batch = row.batch if _typable(row.batch) else unbatched
                batches.setdefault(batch, []).append(row.secret)
            entries: list[tuple[str, str, str | None, dict[str, Any]]] = []
            for batch, secrets in sorted(batches.items()):
                # Requests of this batch examined earlier count too: a sync committing in
                # several transactions must not slip a burst through in small pieces.
                earlier = conn.execute(
                    select(func.count())
                    .select_from(withdrawals)
                    .where(withdrawals.c.batch == batch, withdrawals.c.status.isnot(None))
                ).scalar_one()
                burst = len(secrets) + int(earlier) > self.withdrawal_burst
                burst = burst or batch.startswith(OLD_FORMAT_BATCH)
                status = HELD if burst else ACCEPTED
                conn.execute(
                    update(withdrawals)
                    .where(withdrawals.c.secret == bindparam("request_secret"))
                    .values(batch=batch, status=status, secret_hash=bindparam("request_hash")),
                    [{"request_secret": s, "request_hash": withdrawal_hash(s)} for s in secrets],
                )
                if status == HELD:
                    held += len(secrets)
                    entries.append(
                        (
                            self.actor,
                            "withdrawals-held",
                            None,
                            {"batch": batch, "requests": len(secrets)},
                        )
                    )
            audit.append_many(conn, entries, now, self.signer)
        return held

    def held_count(self) -> int:
        """How many requests are held (a cheap count, for a notice)."""
        with read_connection(self.engine) as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(withdrawals)
                    .where(withdrawals.c.status == HELD)
                ).scalar_one()
            )

    def waiting_requests(self) -> list[datetime]:
        """When each accepted request that names no account in the queue was made, oldest
        first.

        Such a request stays, and applies if its account arrives later (a sync still to
        come); until then nothing else shows it. Only the times: never a secret or hash.
        """
        with read_connection(self.engine) as conn:
            named = select(accounts.c.id).where(
                accounts.c.withdrawal_hash == withdrawals.c.secret_hash
            )
            rows = conn.execute(
                select(tolerant_time(withdrawals.c.requested_at).label("made"))
                .where(withdrawals.c.status == ACCEPTED, ~named.exists())
                .order_by("made")
            ).scalars()
            return [t for t in (stored_time(r) for r in rows) if t is not None]

    def held_batches(self) -> list[HeldBatch]:
        """Every held batch, oldest request first, with the accounts it would withdraw."""
        with read_connection(self.engine) as conn:
            rows = conn.execute(
                select(
                    withdrawals.c.batch,
                    func.count().label("requests"),
                    func.min(tolerant_time(withdrawals.c.requested_at)).label("first"),
                    func.max(tolerant_time(withdrawals.c.requested_at)).label("last"),
                )
                .where(withdrawals.c.status == HELD)
                .group_by(withdrawals.c.batch)
                .order_by("first", withdrawals.c.batch)
            ).all()
            found: list[HeldBatch] = []
            for row in rows:
                ids = conn.execute(
                    select(accounts.c.id)
                    .select_from(
                        withdrawals.join(
                            accounts, accounts.c.withdrawal_hash == withdrawals.c.secret_hash
                        )
                    )
                    .where(
                        withdrawals.c.batch == row.batch,
                        withdrawals.c.status == HELD,
                        accounts.c.withdrawn_at.is_(None),
                    )
                    .order_by(accounts.c.id)
                ).scalars()
                found.append(
                    HeldBatch(
                        row.batch,
                        int(row.requests),
                        stored_time(row.first),
                        stored_time(row.last),
                        tuple(ids),
                    )
                )
        return found

    def decide_batch(self, batch: str, *, confirm: bool) -> int:
        """Confirm (they apply now) or reject (they are deleted) a held batch; how many requests."""
        now = self.clock()
        held = (withdrawals.c.batch == batch, withdrawals.c.status == HELD)
        with self.engine.begin() as conn:
            if confirm:
                count = conn.execute(update(withdrawals).where(*held).values(status=ACCEPTED))
            else:
                # Deleted, not kept: the person's own later request (same secret) must
                # still get in.
                count = conn.execute(delete(withdrawals).where(*held))
            if not count.rowcount:
                raise UnknownBatch()
            action = "withdrawals-confirmed" if confirm else "withdrawals-rejected"
            audit.append(
                conn,
                self.actor,
                action,
                None,
                {"batch": batch, "requests": count.rowcount},
                now,
                self.signer,
            )
        return int(count.rowcount)
