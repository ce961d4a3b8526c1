"""The desk's queue listing: filters, counts by status, one page at a time.

`Queue.list_accounts` serves the command line (a few filters, no paging). The desk needs
more filters (language, flow, date range, "mine", closed hidden unless asked) and pages
that stay fast with 100,000 accounts (`bench/desk_paging.py`).

Every filter, the total and the counts by status read only the covering index
`ix_accounts_listing` (the queue's order, then every filtered column): a row's sealed
body is stored inline, so reading the row itself walks its overflow pages. A page is
found as 50 ids in the index, then those 50 rows are read. "Listed" here is "not
withdrawn, no withdrawal pending"; it leaves out the queue's `sealed IS NOT NULL`, which
only a damaged row could fail, and opening such a row says it is gone. Nothing here
opens a sealed account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, and_, case, func, select, true
from sqlalchemy.engine import Connection

from storage.db import read_connection
from storage.queue.columns import ACCOUNT_COLUMNS, ORDER
from storage.queue.items import QueueItem, UnknownStatus, item_of
from storage.queue.schema import ACCEPTED, STATUSES
from storage.queue.tables import account_tags, accounts, withdrawals

PAGE_SIZE = 50
_BATCH = 500
# A listed row without its sealed body, which the listing never shows.
ROW_COLUMNS = tuple(c for c in ACCOUNT_COLUMNS if c.name != "sealed")


@dataclass(frozen=True)
class Filters:
    """What the reviewer asked to see; empty fields filter nothing."""

    status: str | None = None
    tag: str | None = None
    language: str | None = None
    flow: str | None = None
    received_from: datetime | None = None
    received_before: datetime | None = None
    assignee: str | None = None  # "mine": the reviewer's own fingerprint
    urgent_only: bool = False
    include_closed: bool = False


@dataclass(frozen=True)
class Page:
    items: tuple[QueueItem, ...]
    total: int  # accounts matching the filters
    counts: dict[str, int]  # accounts not withdrawn, by status, whatever the filters
    offset: int
    size: int


def _pending(conn: Connection) -> list[str]:
    """Accounts an accepted withdrawal request names that are not tombstones yet (usually
    none): hidden at once, before the next reconcile turns them into tombstones. A request
    held in a burst erases nothing until an administrator confirms it, so its account
    stays listed.

    Read once from the small withdrawals table, instead of a correlated lookup for each
    of 100,000 rows (which doubled the time of every count).
    """
    # Two steps, the hashes first: in one statement (a join, or IN a subquery) SQLite's
    # planner scanned the whole listing index instead of the withdrawal-hash index.
    hashes = list(
        conn.execute(
            select(withdrawals.c.secret_hash).where(
                withdrawals.c.status == ACCEPTED, withdrawals.c.secret_hash.is_not(None)
            )
        ).scalars()
    )
    found: list[str] = []
    for start in range(0, len(hashes), _BATCH):
        found += conn.execute(
            select(accounts.c.id).where(
                accounts.c.withdrawal_hash.in_(hashes[start : start + _BATCH]),
                accounts.c.withdrawn_at.is_(None),
            )
        ).scalars()
    return found


def _listed(pending: Sequence[str]) -> ColumnElement[bool]:
    """Not withdrawn, and no withdrawal request pending."""
    if not pending:
        return accounts.c.withdrawn_at.is_(None)
    return and_(accounts.c.withdrawn_at.is_(None), accounts.c.id.not_in(pending))


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    """What `filters` asks of a row, as SQL conditions on the listing index's columns."""
    found: list[ColumnElement[bool]] = []
    if filters.status is not None:
        if filters.status not in STATUSES:
            raise UnknownStatus()
        found.append(accounts.c.status == filters.status)
    elif not filters.include_closed:
        found.append(accounts.c.status != "closed")
    if filters.tag:
        found.append(
            accounts.c.id.in_(
                select(account_tags.c.account_id).where(account_tags.c.tag == filters.tag)
            )
        )
    if filters.language:
        found.append(accounts.c.language == filters.language)
    if filters.flow:
        found.append(accounts.c.flow == filters.flow)
    if filters.received_from is not None:
        found.append(accounts.c.received_at >= filters.received_from)
    if filters.received_before is not None:
        found.append(accounts.c.received_at < filters.received_before)
    if filters.assignee:
        found.append(accounts.c.assignee == filters.assignee)
    if filters.urgent_only:
        found.append(accounts.c.urgent.is_(True))
    return found


def tags_of(engine: Engine, ids: Sequence[str]) -> dict[str, list[str]]:
    if not ids:
        return {}
    found: dict[str, list[str]] = {}
    with read_connection(engine) as conn:
        for row in conn.execute(select(account_tags).where(account_tags.c.account_id.in_(ids))):
            found.setdefault(row.account_id, []).append(row.tag)
    return found


def list_page(engine: Engine, filters: Filters, *, offset: int = 0, size: int = PAGE_SIZE) -> Page:
    """One page of the accounts matching `filters`, with the totals the desk shows."""
    offset = max(0, offset)
    conditions = _conditions(filters)
    with read_connection(engine) as conn:
        listed = _listed(_pending(conn))
        ids_query = (
            select(accounts.c.id)
            .where(listed, *conditions)
            .order_by(*ORDER)
            .limit(size)
            .offset(offset)
        )
        # The counts by status and the filtered total in one pass over the index, without
        # grouping (a GROUP BY sorted 100,000 index entries first).
        matching = and_(*conditions) if conditions else true()
        stats_query = select(
            *(func.sum(case((accounts.c.status == status, 1), else_=0)) for status in STATUSES),
            func.sum(case((matching, 1), else_=0)),
        ).where(listed)
        ids = list(conn.execute(ids_query).scalars())
        found = {r.id: r for r in conn.execute(select(*ROW_COLUMNS).where(accounts.c.id.in_(ids)))}
        *sums, total = conn.execute(stats_query).one()
    tags = tags_of(engine, ids)
    return Page(
        items=tuple(item_of(found[i], tags.get(i, ())) for i in ids if i in found),
        total=int(total or 0),
        counts={status: int(n or 0) for status, n in zip(STATUSES, sums, strict=True)},
        offset=offset,
        size=size,
    )


def choices(engine: Engine) -> dict[str, list[str]]:
    """The languages, flows and tags present in the queue, for the filter menus."""
    with read_connection(engine) as conn:
        pairs = conn.execute(
            select(accounts.c.language, accounts.c.flow)
            .where(_listed(_pending(conn)))
            .group_by(accounts.c.language, accounts.c.flow)
        ).all()
        return {
            "languages": sorted({str(p.language) for p in pairs if p.language}),
            "flows": sorted({str(p.flow) for p in pairs if p.flow}),
            "tags": _tags(conn),
        }


def _tags(conn: Connection) -> list[str]:
    """The tags on listed accounts: none of an account withdrawn or with a withdrawal
    pending (tags are typed by reviewers and can name a person)."""
    query = select(account_tags.c.tag).distinct().order_by(account_tags.c.tag)
    pending = _pending(conn)
    if pending:
        query = query.where(account_tags.c.account_id.not_in(pending))
    return [str(v) for v in conn.execute(query).scalars()]


def tag_choices(engine: Engine) -> list[str]:
    """The tags for the filter menu, read fresh: cheap (the tags table, not the listing),
    and never one a withdrawal has erased since (issue: a running desk kept them)."""
    with read_connection(engine) as conn:
        return _tags(conn)


__all__ = ["PAGE_SIZE", "Filters", "Page", "choices", "list_page", "tag_choices", "tags_of"]
