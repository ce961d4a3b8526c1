"""`attest review export`: accounts as JSON or CSV, as far as each person's consent allows.

The consent scopes are read from the *verified* body, never from the queue's plaintext
columns. What each purpose includes (docs/export-schema.md has the format):

    reports     scope reports = yes; always anonymised
    mechanisms  scope mechanisms = anonymised or named; anonymised as the person chose
    internal    every account not withdrawn, whole (for the team; audited like the rest)

Anonymised drops every answer its flow marks `identifying`, the channel message ids,
per-answer receipt times and the attached files. It also withholds the person's own words:
a free-text (or media) answer stays only as a stub (step, kind, status, section, legal
elements, `"withheld": "free-text"`) without its value, question or hash, because a
story told freely very often names the person, their family, the perpetrators or their
village, and the follow-up questions quote it. A reviewer who has read and redacted that
text may include it on purpose (`include_free_text`); the audit entry of every anonymised
account says whether free text was "withheld" or "included". Approximate dates are typed
freely too ("spring 2023, when they came to X"): an anonymised account keeps only the
coarse year or season `flows.dates` reads from one (`"withheld": "date-detail"`), or
withholds it whole like free text when nothing can be read. Withdrawn accounts never
appear (the queue does not hand them out). Accounts that cannot be exported are left
out and counted by why: failed verification (changed after the node signed it), sealed
only to keys this reviewer does not hold, resealed to them by the demo key (pinned for
recovery: `review show` opens those, marked, exports do not), or signed by a node key or
resealed by a reviewer key they have not trusted. Every exported account gets an "exported" audit entry before anything is
written, so the log lists every copy that may need recalling after a withdrawal.

Internal exports also carry the team's triage work (`triage`: status, tags, assignee, and
the notes when asked for); anonymised and named exports never do, since a note or a tag
may say more about the person than their consented answers. Filters (status, tag, id,
received between two dates) narrow any export; they only ever leave accounts out.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from flows.dates import read_approximate_date
from review.opened import OpenedAccount, VerificationFailed, open_verified, reseals_for_key
from storage.crypto import CryptoError
from storage.errors import N_, NotARecipient, UntrustedAfter, UntrustedNode, UntrustedReviewer
from storage.queue.items import QueueItem, StoredAccount, reviewer_actor

SCHEMA = "attest-export/3"
Purpose = Literal["reports", "mechanisms", "internal"]
Sharing = Literal["anonymised", "named", "internal"]

# Kinds whose value is the person's own words. A media step takes files, not text, but any
# text that ever came with them would be as free as a story: withheld the same way.
OWN_WORDS_KINDS = frozenset({"free-text", "media"})
WITHHELD_FREE_TEXT = "free-text"
# An approximate date reduced to its coarse year or season: the rest of what was typed is out.
WITHHELD_DATE_DETAIL = "date-detail"
DATE_KINDS = frozenset({"approximate-date"})

if TYPE_CHECKING:
    from storage.crypto.reviewer import ReviewerPrivateKey, ReviewerPublicKey
    from storage.queue.store import Queue


@dataclass(frozen=True)
class ExportFilter:
    """Which accounts an export takes; an empty field does not narrow.

    `since` and `until` are days of receipt, both included. An account whose receipt time
    is damaged is left out as soon as either is given.
    """

    statuses: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    since: date | None = None
    until: date | None = None

    def admits(self, item: QueueItem) -> bool:
        if self.ids and item.account_id not in self.ids:
            return False
        if self.statuses and item.status not in self.statuses:
            return False
        if self.tags and not self.tags.intersection(item.tags):
            return False
        if self.since is None and self.until is None:
            return True
        if item.received_at is None:
            return False
        day = item.received_at.astimezone(UTC).date()
        if self.since is not None and day < self.since:
            return False
        return not (self.until is not None and day > self.until)


@dataclass
class ExportResult:
    document: dict[str, Any]
    exported: list[tuple[str, Sharing]] = field(default_factory=list)
    not_consented: int = 0
    unverified: int = 0  # failed a check: changed after the node signed it
    sealed_to_other_keys: int = 0  # neither sealed nor resealed to this reviewer's key
    resealed_by_demo_key: int = 0  # opens only through the demo key's reseal: left out
    untrusted_keys: int = 0  # a node or resealer key not pinned, or untrusted
    include_free_text: bool = False
    include_notes: bool = False


SEALED_TO_OTHER_KEYS = N_(
    "Also left out: {n} sealed only to reviewer keys you do not hold. A reviewer who "
    "holds one can let you in with `attest review reseal --to` and your reviewer.pub."
)
RESEALED_BY_DEMO_KEY = N_(
    "Also left out: {n} resealed to you by the demo key, so who resealed them is not "
    "known; exports leave them out. `attest review show ID` opens each, marked."
)
UNTRUSTED_KEYS = N_(
    "Also left out: {n} signed by a node key or resealed by a reviewer key you have not "
    "trusted (or have untrusted); `attest review show ID` says which."
)


def left_out_lines(result: ExportResult, gettext: Callable[[str], str]) -> list[str]:
    """What else an export left out and why, beside consent and failed verification."""
    counts = (
        (SEALED_TO_OTHER_KEYS, result.sealed_to_other_keys),
        (RESEALED_BY_DEMO_KEY, result.resealed_by_demo_key),
        (UNTRUSTED_KEYS, result.untrusted_keys),
    )
    return [gettext(template).format(n=n) for template, n in counts if n]


def sharing_for(purpose: Purpose, scopes: Mapping[str, Any]) -> Sharing | None:
    """How an account may be shared for `purpose` under its scopes; None: not at all."""
    if purpose == "internal":
        return "internal"
    if purpose == "reports":
        return "anonymised" if scopes.get("reports") == "yes" else None
    mechanisms = scopes.get("mechanisms")
    if mechanisms == "named":
        return "named"
    if mechanisms == "anonymised":
        return "anonymised"
    return None


def _withheld(answer: Mapping[str, Any], marker: str = WITHHELD_FREE_TEXT) -> dict[str, Any]:
    """A free-text answer without its words: what was asked of whom, not what was said.

    The question goes too (a follow-up quotes the person's story back), and the hash (a
    short answer's hash lets anyone confirm a guess of it).
    """
    return {
        "step": answer.get("step"),
        "kind": answer.get("kind"),
        "status": answer.get("status"),
        "labels": list(answer.get("labels") or []),
        "section": answer.get("section"),
        "elements": list(answer.get("elements") or []),
        "identifying": bool(answer.get("identifying")),
        "withheld": marker,
        **_source(answer),
    }


def _source(answer: Mapping[str, Any]) -> dict[str, Any]:
    """Documenter mode: how the documenter knows this fact (seen, told, heard, public)."""
    source = answer.get("source")
    return {"source": source} if isinstance(source, str) else {}


def _coarse_date(answer: Mapping[str, Any]) -> dict[str, Any]:
    """An approximate date as an anonymised account keeps it: its coarse year or season.

    The value becomes `2023` or `2023-spring`; what else was typed goes, with the hash of
    it. When no year can be read the answer is withheld whole, as free text is. (Skipped,
    "don't know" and "prefer not" dates hold no typed text and are exported as they are.)
    """
    value = answer.get("value")
    coarse = read_approximate_date(value) if isinstance(value, str) else None
    if coarse is None:
        return _withheld(answer)
    kept = _withheld(answer, WITHHELD_DATE_DETAIL)
    kept["value"] = str(coarse)
    return kept


def _answer(
    answer: Mapping[str, Any], sharing: Sharing, include_free_text: bool = False
) -> dict[str, Any]:
    if sharing == "anonymised" and not include_free_text:
        if answer.get("kind") in OWN_WORDS_KINDS:
            return _withheld(answer)
        if answer.get("kind") in DATE_KINDS and answer.get("status") == "answered":
            return _coarse_date(answer)
    out = {
        "step": answer.get("step"),
        "question": answer.get("question"),
        "kind": answer.get("kind"),
        "status": answer.get("status"),
        "value": answer.get("value"),
        "labels": list(answer.get("labels") or []),
        "section": answer.get("section"),
        "elements": list(answer.get("elements") or []),
        "identifying": bool(answer.get("identifying")),
        "sha256": answer.get("sha256"),
        **_source(answer),
    }
    if sharing != "anonymised":
        out["received_at"] = answer.get("received_at")
        out["message_ids"] = list(answer.get("message_ids") or [])
        out["files"] = list(answer.get("files") or [])
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def account_record(
    opened: OpenedAccount, sharing: Sharing, include_free_text: bool = False
) -> dict[str, Any]:
    """One account of the export, reduced to what `sharing` allows.

    `include_free_text` keeps the free-text answers of an anonymised account, for a
    reviewer who has read them and will redact them before the file is shared.
    """
    body = opened.body
    consent = body.get("consent", {})
    answers = [
        _answer(a, sharing, include_free_text)
        for a in opened.answers
        if not (sharing == "anonymised" and a.get("identifying"))
    ]
    record: dict[str, Any] = {
        "account_id": opened.item.account_id,
        "sharing": sharing,
        "received_at": _iso(opened.item.received_at),
        "submitted_at": body.get("submitted_at"),
        "flow": body.get("flow"),
        "flow_version": body.get("flow_version"),
        "language": body.get("language"),
        "mode": body.get("mode"),
        # The documenter's pseudonym links accounts to one person in the field: not in
        # anonymised exports, which may be published.
        "documenter": body.get("documenter") if sharing != "anonymised" else None,
        "urgent": bool(body.get("urgent")),
        "consent": {
            "scopes": dict(consent.get("scopes", {})),
            "text_version": consent.get("text_version"),
            "given_at": consent.get("given_at"),
            "affirmed_by_documenter": bool(consent.get("affirmed_by_documenter")),
        },
        "answers": answers,
    }
    if sharing != "anonymised":
        record["files"] = [
            {
                "file_id": f.file_id,
                "kind": f.kind,
                "mime_type": f.mime_type,
                "sha256": f.sha256,
                "size": f.size,
            }
            for f in opened.files
        ]
    return record


def build_export(
    queue: Queue,
    key: ReviewerPrivateKey,
    trusted_nodes: Mapping[str, bytes],
    purpose: Purpose,
    *,
    node_cutoffs: Mapping[str, datetime] | None,
    now: datetime | None = None,
    include_free_text: bool = False,
    trusted_reviewers: Mapping[str, ReviewerPublicKey] | None = None,
    receipt_signers: Mapping[str, ReviewerPublicKey] | None = None,
    progress: Callable[[int], None] | None = None,
    selection: ExportFilter | None = None,
    include_notes: bool = False,
    demo_resealers: Mapping[str, ReviewerPublicKey] | None = None,
) -> ExportResult:
    """Open and verify every account, keep what consent allows; nothing audited or written yet.

    `demo_resealers` (demo keys pinned for recovery) only tell an account that opens through
    the demo key's reseal, counted apart and left out, from one that failed verification.

    `progress(n)` is called with how many accounts have been read so far. Internal exports
    carry each account's triage state, and its notes if `include_notes` (which only an
    internal export may ask for).
    """
    if include_notes and purpose != "internal":
        raise ValueError("notes are only ever exported internally")
    selection = selection or ExportFilter()
    result = ExportResult(
        document={}, include_free_text=include_free_text, include_notes=include_notes
    )
    records: list[dict[str, Any]] = []
    # The queue rows with their tags, read once: what filters and triage state need.
    items = {item.account_id: item for item in queue.list_accounts(limit=None)}
    for read, stored in enumerate(queue.exportable(), start=1):
        if progress is not None:
            progress(read)
        item = items.get(stored.item.account_id, stored.item)
        if not selection.admits(item):
            continue
        try:
            # Files are not exported, so their (slow) check is left to `review show`.
            opened = open_verified(
                queue,
                stored,
                key,
                trusted_nodes,
                check_files=False,
                trusted_reviewers=trusted_reviewers,
                node_cutoffs=node_cutoffs,
                demo_resealers=demo_resealers,
                receipt_signers=receipt_signers,
            )
        except NotARecipient:
            result.sealed_to_other_keys += 1
            continue
        except (UntrustedNode, UntrustedReviewer, UntrustedAfter):
            result.untrusted_keys += 1
            continue
        except (CryptoError, VerificationFailed):
            result.unverified += 1
            continue
        if opened.resealed_by_demo is not None:
            result.resealed_by_demo_key += 1
            continue
        sharing = sharing_for(purpose, opened.scopes)
        if sharing is None:
            result.not_consented += 1
            continue
        record = account_record(opened, sharing, include_free_text)
        if sharing == "internal":
            record["triage"] = _triage(item)
            if include_notes:
                record["triage"]["notes"] = _notes(
                    queue, stored, key, trusted_nodes, trusted_reviewers
                )
        records.append(record)
        result.exported.append((stored.item.account_id, sharing))
    result.document = {
        "schema": SCHEMA,
        "purpose": purpose,
        "exported_at": (now or datetime.now(UTC)).isoformat(),
        "exported_by": key.fingerprint,
        "accounts": records,
        "left_out": {
            "not_consented": result.not_consented,
            "unverified": result.unverified,
            "sealed_to_other_keys": result.sealed_to_other_keys,
            "resealed_by_demo_key": result.resealed_by_demo_key,
            "untrusted_keys": result.untrusted_keys,
        },
    }
    return result


def _triage(item: QueueItem) -> dict[str, Any]:
    return {"status": item.status, "tags": sorted(item.tags), "assignee": item.assignee}


def _notes(
    queue: Queue,
    stored: StoredAccount,
    key: ReviewerPrivateKey,
    trusted_nodes: Mapping[str, bytes],
    trusted_reviewers: Mapping[str, ReviewerPublicKey] | None,
) -> list[dict[str, Any]]:
    """The account's notes, opened; one that fails its integrity check is marked, not read."""
    account_id = stored.item.account_id
    from storage.crypto.notes import notes_key, open_note

    notes_key_ = notes_key(
        stored.sealed,
        key,
        trusted_nodes,
        reseals_for_key(queue, stored, key),
        trusted_reviewers,
    )
    out: list[dict[str, Any]] = []
    for note in queue.notes(account_id):
        entry: dict[str, Any] = {"author": note.author, "created_at": _iso(note.created_at)}
        try:
            entry["text"] = open_note(notes_key_, account_id, note.note_id, note.sealed)
        except CryptoError:
            entry["text"] = None
            entry["failed_check"] = True
        out.append(entry)
    return out


def audit_export(queue: Queue, result: ExportResult, reviewer: str, fmt: str) -> None:
    """One "exported" entry per account, in one transaction, before the file is written.

    An anonymised account's entry says whether its free text was "withheld" or "included"
    (entries written before free text was withheld have no such field: it was included).
    """
    purpose = result.document["purpose"]
    free_text = "included" if result.include_free_text else "withheld"

    def detail(sharing: Sharing) -> dict[str, Any]:
        entry: dict[str, Any] = {"purpose": purpose, "sharing": sharing, "format": fmt}
        if sharing == "anonymised":
            entry["free_text"] = free_text
        if sharing == "internal" and result.include_notes:
            entry["notes"] = "included"
        return entry

    queue.record_many(
        [
            (reviewer_actor(reviewer), "exported", account_id, detail(sharing))
            for account_id, sharing in result.exported
        ]
    )


CSV_ACCOUNT_COLUMNS = (
    "account_id",
    "sharing",
    "received_at",
    "submitted_at",
    "flow",
    "flow_version",
    "language",
    "urgent",
    "scope_reports",
    "scope_mechanisms",
)
CSV_ANSWER_COLUMNS = (
    "step",
    "question",
    "kind",
    "status",
    "value",
    "labels",
    "identifying",
    "sha256",
    "withheld",
)
CSV_COLUMNS = (*CSV_ACCOUNT_COLUMNS, *CSV_ANSWER_COLUMNS, "mode", "documenter", "source")
# Internal exports only (a record without `triage` gets none of these columns).
CSV_TRIAGE_COLUMNS = ("triage_status", "triage_tags", "triage_assignee")
CSV_NOTES_COLUMN = "triage_notes"
# Spreadsheets (Excel above all) read a CSV as UTF-8 only when it starts with this mark;
# without it Arabic and Persian answers come out garbled.
BOM = "\ufeff"
# `--layout accounts`: several values in one cell, as Uwazi's CSV import splits them.
MULTI_SEPARATOR = "|"
Layout = Literal["answers", "accounts"]
LAYOUTS: tuple[Layout, ...] = ("answers", "accounts")

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: Any, separator: str = "; ") -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return separator.join(_text(v, separator) for v in value)
    return "" if value is None else str(value)


def _cell(value: Any, separator: str = "; ") -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe."""
    text = _text(value, separator)
    # Answers are typed by anyone who reaches the bot: never let them become formulas.
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def to_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _triage_columns(records: list[Mapping[str, Any]]) -> tuple[str, ...]:
    if not any("triage" in r for r in records):
        return ()
    notes = any("notes" in r.get("triage", {}) for r in records)
    return (*CSV_TRIAGE_COLUMNS, *((CSV_NOTES_COLUMN,) if notes else ()))


def _notes_text(notes: Iterable[Mapping[str, Any]]) -> str:
    """Every note of an account in one cell, oldest first, each under its author and time."""
    return "\n\n".join(
        f"{n.get('created_at') or ''} {n.get('author') or ''}: "
        + (n["text"] if n.get("text") is not None else "(failed its integrity check)")
        for n in notes
    )


def _account_row(record: Mapping[str, Any]) -> dict[str, Any]:
    scopes = record["consent"]["scopes"]
    row: dict[str, Any] = {
        **{k: record.get(k) for k in CSV_ACCOUNT_COLUMNS if not k.startswith("scope_")},
        "mode": record.get("mode"),
        "documenter": record.get("documenter"),
        "scope_reports": scopes.get("reports"),
        "scope_mechanisms": scopes.get("mechanisms"),
    }
    triage = record.get("triage")
    if triage is not None:
        row["triage_status"] = triage.get("status")
        row["triage_tags"] = list(triage.get("tags") or [])
        row["triage_assignee"] = triage.get("assignee")
        if "notes" in triage:
            row[CSV_NOTES_COLUMN] = _notes_text(triage["notes"])
    return row


def title_of(record: Mapping[str, Any]) -> str:
    """`a1b2c3d4 2026-11-01`: the short id `review list` users know, and the day sent."""
    when = record.get("submitted_at") or record.get("received_at") or ""
    day = str(when)[:10]
    return f"{str(record['account_id'])[:8]} {day}".strip()


def _answer_cell(answer: Mapping[str, Any]) -> Any:
    """One answer in the accounts layout: choices as their labels, withheld text marked."""
    withheld = answer.get("withheld")
    if withheld == WITHHELD_FREE_TEXT:
        return "(withheld: free-text)"
    if answer.get("status") != "answered":
        return None
    labels = answer.get("labels")
    if labels:
        return list(labels)
    return answer.get("value")


def layout_rows(records: Iterable[Mapping[str, Any]], layout: Layout) -> Iterator[list[str]]:
    """The header, then the rows of one layout, every cell text (formulas defused).

    `answers`: one row per answer, each with its account's columns. `accounts`: one row
    per account, a `title` column, then one column per question step (in the order they
    were first asked), several values joined with `|`.
    """
    records = list(records)
    triage_columns = _triage_columns(records)
    if layout == "answers":
        columns = (*CSV_COLUMNS, *triage_columns)
        yield list(columns)
        for record in records:
            account = _account_row(record)
            for answer in record["answers"]:
                row = {**account, **{k: answer.get(k) for k in (*CSV_ANSWER_COLUMNS, "source")}}
                yield [_cell(row.get(c)) for c in columns]
        return
    fixed = ("title", *CSV_ACCOUNT_COLUMNS, "mode", "documenter", *triage_columns)
    # A step's column is its id; one that would clash with a fixed column is prefixed.
    steps: dict[str, str] = {}
    for record in records:
        for answer in record["answers"]:
            step = str(answer.get("step"))
            steps.setdefault(step, f"answer_{step}" if step in fixed else step)
    head = (*fixed, *steps.values())
    yield list(head)
    for record in records:
        row = _account_row(record)
        row["title"] = title_of(record)
        for answer in record["answers"]:
            value = _answer_cell(answer)
            column = steps[str(answer.get("step"))]
            if value is None and column in row:
                continue
            if row.get(column) is not None and value is not None:
                # A step asked twice (a flow may loop): both answers, in order.
                before = row[column] if isinstance(row[column], list) else [row[column]]
                value = [*before, *(value if isinstance(value, list) else [value])]
            row[column] = value
        yield [_cell(row.get(c), MULTI_SEPARATOR) for c in head]


def to_csv(records: Iterable[Mapping[str, Any]], layout: Layout = "answers") -> str:
    """The CSV of an export in `layout`, starting with a UTF-8 byte-order mark."""
    buffer = io.StringIO()
    buffer.write(BOM)
    csv.writer(buffer).writerows(layout_rows(records, layout))
    return buffer.getvalue()


# Characters a spreadsheet file cannot hold (XML 1.0 forbids most control characters);
# anyone can type them to the bot, so they become U+FFFD rather than fail the export.
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def to_xlsx(records: Iterable[Mapping[str, Any]]) -> bytes:
    """A workbook of two sheets: `accounts` and `answers`, the rows of the two CSV layouts.

    Every cell is text, a formula defused as in CSV. openpyxl is imported here, only when
    a workbook is asked for (it is not on `attest review list`'s start-up path).
    """
    from openpyxl import Workbook

    records = list(records)
    book = Workbook(write_only=True)
    for layout in ("accounts", "answers"):
        sheet = book.create_sheet(layout)
        for row in layout_rows(records, layout):
            sheet.append([_NOT_IN_XLSX.sub("\ufffd", cell) for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
