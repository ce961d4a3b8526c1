"""What `attest review list` prints: a header, aligned columns, and how many of how many.

Ids are shown whole; every command also takes any unique start of 6 or more characters
of one. The time is the submission time (the sync time where a node left it empty). Every cell that a node or another
reviewer wrote is escaped (`printable`), and URGENT is drawn in red, an unpinned node
in yellow, when standard output is a terminal (click drops styles otherwise).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import click

from review.show import printable, short, when
from storage.queue.items import QueueItem

if TYPE_CHECKING:
    from flows.types import Translator  # its dataclasses cost a listing's start-up


def width(text: str) -> int:
    """Columns `text` takes in a terminal: wide (East Asian) characters take two."""
    if text.isascii():  # ids, times, statuses: one column each (controls are escaped)
        return len(text)
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
        for c in text
    )


def _pad(text: str, columns: int) -> str:
    return text + " " * (columns - width(text))


def render_listing(
    items: Sequence[QueueItem],
    total: int,
    pins: Collection[str | None],
    t: Translator,
    *,
    closed_hidden: bool,
    cutoffs: Mapping[str, datetime] | None = None,
    resealed_by_demo: Collection[str] = (),
) -> list[str]:
    """The table's lines, header first, then the "showing N of M" line."""
    header = [
        t.gettext("ID"),
        t.gettext("SUBMITTED"),
        t.gettext("STATUS"),
        t.gettext("HOLDER"),
        t.gettext("FLOW/LANG"),
        t.gettext("TAGS"),
        t.gettext("FLAGS"),
    ]
    rows: list[list[str]] = []
    flags: list[list[tuple[str, str]]] = []
    for i in items:
        marks: list[tuple[str, str]] = []
        if i.urgent:
            marks.append((t.gettext("URGENT"), "red"))
        if i.documenter:
            marks.append((i.documenter, ""))  # who recorded it (documenter mode)
        if i.node_fingerprint not in pins:
            marks.append(
                (t.gettext("UNPINNED NODE {node}").format(node=short(i.node_fingerprint)), "yellow")
            )
        elif cutoffs and i.node_fingerprint is not None and i.node_fingerprint in cutoffs:
            marks.append(
                (
                    t.gettext("NODE KEY UNTRUSTED AFTER {time}").format(
                        time=when(cutoffs[i.node_fingerprint])
                    ),
                    "yellow",
                )
            )
        if i.account_id in resealed_by_demo:
            # Reached through the demo key pinned for recovery: who resealed it is not known.
            marks.append((t.gettext("RESEALED BY DEMO KEY"), "yellow"))
        cells = [
            i.account_id,
            when(i.submitted_at or i.received_at),
            i.status,
            short(i.assignee) if i.assignee else "-",
            f"{i.flow}/{i.language}",
            ",".join(i.tags) or "-",
        ]
        # A stored string (a node's or another reviewer's) is shown escaped, on one line.
        rows.append([printable(c, one_line=True) for c in cells])
        flags.append([(printable(text, one_line=True), colour) for text, colour in marks])
    widths = [max([width(h), *(width(r[n]) for r in rows)]) for n, h in enumerate(header[:-1])]
    lines = [
        "  ".join(_pad(h, w) for h, w in zip(header, widths, strict=False)) + "  " + header[-1]
    ]
    for row, marks in zip(rows, flags, strict=True):
        shown = "  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True))
        coloured = " ".join(
            click.style(text, fg=colour, bold=True) if colour else text for text, colour in marks
        )
        lines.append((shown + "  " + coloured).rstrip())
    summary = t.gettext("Showing {shown} of {total} accounts.").format(
        shown=len(items), total=total
    )
    if closed_hidden:
        summary += " " + t.gettext("Closed accounts are hidden (--all shows them).")
    lines.append(summary)
    return lines


__all__ = ["render_listing", "width"]
