"""Reseals in the queue: stored beside an account, read back for the reviewer they are for.

Storing checks nothing cryptographic (the queue holds no keys): whoever opens through a
reseal verifies its signature against their own pinned reviewer keys
(`storage.crypto.reseal`). Each stored reseal writes a "resealed" audit entry by the
reviewer who made it, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from storage.db import read_connection
from storage.queue import audit
from storage.queue.items import reviewer_actor
from storage.queue.tables import reseals

if TYPE_CHECKING:
    from storage.crypto.reseal import Reseal
    from storage.queue.store import Queue


def store_reseals(queue: Queue, made: Sequence[Reseal]) -> int:
    """Insert reseals not already there (one per account and recipient); how many were new."""
    if not made:
        return 0
    now = queue.clock()
    added = 0
    with queue.engine.begin() as conn:
        entries: list[tuple[str, str, str | None, dict[str, str]]] = []
        for reseal in made:
            exists = conn.execute(
                select(reseals.c.account_id).where(
                    reseals.c.account_id == reseal.account_id,
                    reseals.c.recipient == reseal.recipient,
                )
            ).first()
            if exists is not None:
                continue
            conn.execute(
                reseals.insert().values(
                    account_id=reseal.account_id,
                    recipient=reseal.recipient,
                    wrapped=reseal.wrapped,
                    resealer=reseal.resealer,
                    signature=reseal.signature,
                    created_at=now,
                )
            )
            entries.append(
                (
                    reviewer_actor(reseal.resealer),
                    "resealed",
                    reseal.account_id,
                    {"recipient": reseal.recipient},
                )
            )
            added += 1
        audit.append_many(conn, entries, now, queue.signer)
    return added


def reseals_for(queue: Queue, account_id: str, recipient: str | None = None) -> list[Reseal]:
    """The reseals of one account (for one recipient when given), unchecked."""
    query = select(reseals).where(reseals.c.account_id == account_id)
    if recipient is not None:
        query = query.where(reseals.c.recipient == recipient)
    with read_connection(queue.engine) as conn:
        rows = conn.execute(query.order_by(reseals.c.recipient)).all()
    from storage.crypto.reseal import Reseal  # cryptography: only when reseals are read

    return [
        Reseal(r.account_id, r.recipient, bytes(r.wrapped), r.resealer, bytes(r.signature))
        for r in rows
    ]


def resealed_ids(queue: Queue, recipient: str) -> set[str]:
    """Accounts that already have a reseal for `recipient`."""
    with read_connection(queue.engine) as conn:
        rows = conn.execute(
            select(reseals.c.account_id).where(reseals.c.recipient == recipient)
        ).scalars()
        return set(rows)


def resealed_by(queue: Queue, recipient: str, resealers: Collection[str]) -> set[str]:
    """Accounts whose reseal for `recipient` names one of `resealers` (unchecked: a listing)."""
    if not resealers:
        return set()
    with read_connection(queue.engine) as conn:
        rows = conn.execute(
            select(reseals.c.account_id).where(
                reseals.c.recipient == recipient, reseals.c.resealer.in_(sorted(resealers))
            )
        ).scalars()
        return set(rows)
