"""The desk's queue listing: filters, counts by status, one page at a time.

`Queue.list_accounts` serves the command line (a few filters, no paging). The desk needs
more filters (language, flow, date range, "mine", closed hidden unless asked) and pages
that stay fast with 100,000 accounts (`bench/desk_paging.py`): the rows of a page come
in the queue's order (urgent first, then oldest: the `ix_accounts_order` index), and the
counts by status in one grouped read. Nothing here opens a sealed account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, func, select

from storage.db import read_connection
from storage.queue.items import ACCOUNT_COLUMNS, ORDER, VISIBLE, QueueItem, UnknownStatus, item_of
from storage.queue.tables import STATUSES, account_tags, accounts

PAGE_SIZE = 50


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


def _filtered(query: Select[Any], filters: Filters) -> Select[Any]:
    if filters.status is not None:
        if filters.status not in STATUSES:
            raise UnknownStatus()
        query = query.where(accounts.c.status == filters.status)
    elif not filters.include_closed:
        query = query.where(accounts.c.status != "closed")
    if filters.tag:
        query = query.where(
            accounts.c.id.in_(
                select(account_tags.c.account_id).where(account_tags.c.tag == filters.tag)
            )
        )
    if filters.language:
        query = query.where(accounts.c.language == filters.language)
    if filters.flow:
        query = query.where(accounts.c.flow == filters.flow)
    if filters.received_from is not None:
        query = query.where(accounts.c.received_at >= filters.received_from)
    if filters.received_before is not None:
        query = query.where(accounts.c.received_at < filters.received_before)
    if filters.assignee:
        query = query.where(accounts.c.assignee == filters.assignee)
    if filters.urgent_only:
        query = query.where(accounts.c.urgent.is_(True))
    return query


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
    rows_query = (
        _filtered(select(*ACCOUNT_COLUMNS).where(VISIBLE), filters)
        .order_by(*ORDER)
        .limit(size)
        .offset(offset)
    )
    total_query = _filtered(select(func.count()).select_from(accounts).where(VISIBLE), filters)
    counts_query = (
        select(accounts.c.status, func.count()).where(VISIBLE).group_by(accounts.c.status)
    )
    with read_connection(engine) as conn:
        rows = conn.execute(rows_query).all()
        total = int(conn.execute(total_query).scalar_one())
        counts = {str(status): int(n) for status, n in conn.execute(counts_query)}
    tags = tags_of(engine, [r.id for r in rows])
    return Page(
        items=tuple(item_of(r, tags.get(r.id, ())) for r in rows),
        total=total,
        counts={status: counts.get(status, 0) for status in STATUSES},
        offset=offset,
        size=size,
    )


def choices(engine: Engine) -> dict[str, list[str]]:
    """The languages, flows and tags present in the queue, for the filter menus."""
    with read_connection(engine) as conn:
        languages = conn.execute(
            select(accounts.c.language).where(VISIBLE).distinct().order_by(accounts.c.language)
        ).scalars()
        flows = conn.execute(
            select(accounts.c.flow).where(VISIBLE).distinct().order_by(accounts.c.flow)
        ).scalars()
        tags = conn.execute(select(account_tags.c.tag).distinct().order_by(account_tags.c.tag))
        return {
            "languages": [str(v) for v in languages if v],
            "flows": [str(v) for v in flows if v],
            "tags": [str(v) for v in tags.scalars()],
        }


__all__ = ["PAGE_SIZE", "Filters", "Page", "choices", "list_page", "tags_of"]
