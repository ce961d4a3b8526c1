"""`attest review`: list, claim, release, show, file, triage, export, audit verify.

A reviewer is their key pair: `ATTEST_REVIEWER_KEY` names the private key file, its
passphrase is asked for (or read from `ATTEST_REVIEWER_PASSPHRASE`). Claims, releases,
tags and status changes sign with the triage key beside it (`reviewer.triage`) and ask
for no passphrase. The queue is
`ATTEST_QUEUE_URL` (default DATA_DIR/queue.db); pinned node keys are in
`ATTEST_TRUSTED_NODES` (default DATA_DIR/trusted-nodes.json); this machine's copy of
the audit log's head is `ATTEST_AUDIT_WITNESS` (default DATA_DIR/audit-witness.json).
Every command first logs receipts of newly synced accounts and applies withdrawals.
Texts go through gettext in `ATTEST_REVIEWER_LANGUAGE` (default en).

`list` reads a SQLite queue with nothing to log or apply read-only, without SQLAlchemy
(`ReviewerContext.listing_queue`, issue 16: start-up), so this module imports the
database machinery only inside the commands that use it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from flows.i18n import translator
from review.context import ReviewerContext, fail, warning
from review.export import (
    LAYOUTS,
    ExportFilter,
    audit_export,
    build_export,
    left_out_lines,
    to_csv,
    to_json,
    to_xlsx,
)
from review.listing import render_listing
from review.opened import file_entries, open_verified, reseals_for_key, write_attachment
from review.out import force_option, refuse_unsafe_out
from review.progress import Progress
from review.show import ShownNote, printable, render_account, urgent_reasons
from storage.crypto import CryptoError
from storage.crypto.keyfiles import PRIVATE_FILE_MODE, fsync_dir, write_temp
from storage.queue.items import AccountNotFound, reviewer_actor
from storage.queue.schema import STATUSES


def _(message: str) -> str:
    return translator(os.environ.get("ATTEST_REVIEWER_LANGUAGE", "en")).gettext(message)


@click.group(help=_("Reviewer commands: list, claim, show, triage, export, audit."))
@click.pass_context
def review(ctx: click.Context) -> None:
    ctx.obj = ReviewerContext(dict(os.environ))
    ctx.call_on_close(ctx.obj.close)


pass_reviewer = click.make_pass_decorator(ReviewerContext)


@contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Writing `out`: a folder there, or no right to write, as one clear line (status 1)."""
    try:
        if out.is_dir():
            raise IsADirectoryError(out)
        yield
    except OSError:
        raise click.ClickException(
            _(
                "Cannot write {path}. Choose a file, not a folder, in a place you are allowed "
                "to write to, and try again."
            ).format(path=out)
        ) from None


@review.command("list", help=_("List accounts: urgent first, then by when they were sent."))
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--all", "show_all", is_flag=True, help=_("Closed accounts too."))
@click.option("--urgent", is_flag=True, help=_("Only urgent accounts."))
@click.option("--mine", is_flag=True, help=_("Only accounts you hold."))
@click.option("--tag", default=None, help=_("Only accounts with this tag."))
@click.option(
    "--language", default=None, help=_("Only accounts given in this language (ar, fa, …).")
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help=_("Only accounts sent on or after this day (YYYY-MM-DD, UTC)."),
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help=_("Only accounts sent on or before this day (YYYY-MM-DD, UTC)."),
)
@click.option("--limit", default=50, show_default=True, help=_("How many to show (0: all)."))
@click.option("--json", "as_json", is_flag=True, help=_("One JSON array instead of a table."))
@click.option(
    "--mode",
    type=click.Choice(("survivor", "documenter")),
    default=None,
    help=_("Only accounts given by survivors, or recorded by documenters."),
)
@click.option("--documenter", default=None, help=_("Only accounts this documenter recorded."))
@pass_reviewer
def list_command(
    ctx: ReviewerContext,
    status: str | None,
    show_all: bool,
    urgent: bool,
    mine: bool,
    tag: str | None,
    language: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
    mode: str | None,
    documenter: str | None,
) -> None:
    with fail(ctx):
        filters: dict[str, Any] = {
            "status": status,
            "urgent_only": urgent,
            "tag": tag,
            "include_closed": show_all,
            "assignee": ctx.fingerprint if mine else None,
            "since": since.replace(tzinfo=UTC) if since else None,
            "until": until.replace(tzinfo=UTC) + timedelta(days=1) if until else None,
            "language": language,
            "mode": mode,
            "documenter": documenter,
        }
        queue = ctx.listing_queue()
        items = queue.list_accounts(limit=limit or None, **filters)
        total = len(items) if as_json else queue.count_accounts(**filters)
        # Said only when some are hidden: "closed hidden" on an empty queue would mislead.
        closed_hidden = (
            not as_json
            and not show_all
            and status is None
            and queue.count_accounts(**{**filters, "status": "closed"}) > 0
        )
        pins = ctx.pins
        from storage.queue.reviewer_pins import ReviewerPins, reviewer_pins_path_from_env

        # Marked, not checked: `review show` verifies the reseal before anything is shown.
        # Only while a demo key is pinned for recovery (rare): that takes the full queue.
        demo = ReviewerPins(reviewer_pins_path_from_env(ctx.env)).demo_fingerprints()
        by_demo: set[str] = set()
        if demo:
            from storage.queue.reseals import resealed_by

            by_demo = resealed_by(ctx.queue, ctx.fingerprint, demo)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": i.account_id,
                        "received_at": i.received_at.isoformat() if i.received_at else None,
                        "submitted_at": i.submitted_at.isoformat() if i.submitted_at else None,
                        "flow": i.flow,
                        "language": i.language,
                        "channel": i.channel,
                        "urgent": i.urgent,
                        "scopes": i.scopes,
                        "status": i.status,
                        "assignee": i.assignee,
                        "lease_until": i.lease_until.isoformat() if i.lease_until else None,
                        "tags": list(i.tags),
                        "node_fingerprint": i.node_fingerprint,
                        "node_pinned": i.node_fingerprint in pins,
                        "mode": i.mode,
                        "documenter": i.documenter,
                        "resealed_by_demo_key": i.account_id in by_demo,
                    }
                    for i in items
                ],
                indent=1,
            )
        )
        return
    if not items:
        click.echo(_("No accounts match."))
        if closed_hidden:
            click.echo(_("Closed accounts are hidden (--all shows them)."))
        return
    for line in render_listing(
        items,
        total,
        pins,
        ctx.t,
        closed_hidden=closed_hidden,
        cutoffs=ctx.node_cutoffs,
        resealed_by_demo=by_demo,
    ):
        click.echo(line)


@review.command("claim", help=_("Take the next account with a lease and print its id."))
@pass_reviewer
def claim_command(ctx: ReviewerContext) -> None:
    ctx.triage_only()  # signed with the triage key: no passphrase (issue 16)
    with fail(ctx):
        from storage.queue.reseals import resealed_ids

        # Only an account this key can open: the sealed envelope names its recipients'
        # fingerprints in the clear, so no passphrase is needed to know (a claim is no
        # use to a reviewer who cannot read it, and would keep it from one who can).
        me = ctx.fingerprint
        claimed, passed = ctx.queue.claim_next_openable(me, resealed=resealed_ids(ctx.queue, me))
        ctx.witness_advance()
    if passed:
        click.echo(
            _(
                "Passed over {n} waiting account(s) your key cannot open (sealed only to "
                "other reviewer keys, such as the demo key); they are left for reviewers "
                "who can open them, or for a reseal to you."
            ).format(n=passed),
            err=True,
        )
    if claimed is None:
        click.echo(_("Nothing to claim: every account is taken or done."), err=True)
        sys.exit(1)
    click.echo(printable(claimed, one_line=True))  # a node's string: shown escaped


@review.command("release", help=_("Give an account you hold back to the queue."))
@click.argument("account_id")
@pass_reviewer
def release_command(ctx: ReviewerContext, account_id: str) -> None:
    ctx.triage_only()
    with fail(ctx):
        status = ctx.queue.release(ctx.resolve(account_id), ctx.fingerprint)
        ctx.witness_advance()
    if status == "new":
        click.echo(_("Released: its review ended, and the account is new again."))
    else:
        click.echo(
            _("Released: you no longer hold it, and it keeps its status {status}.").format(
                status=status
            )
        )


def _on_terminal() -> bool:
    return sys.stdout.isatty()


def _terminal_lines() -> int:
    return shutil.get_terminal_size().lines


def _opened(ctx: ReviewerContext, account_id: str, check_files: bool = True) -> Any:
    stored = ctx.queue.get(account_id)  # a whole id: see ReviewerContext.resolve
    if stored.sealed.node_fingerprint not in ctx.pins:
        raise click.ClickException(
            _(
                "This account comes from node {node}, which you have not pinned, so it was "
                "not opened. Check that fingerprint with whoever runs the node, then run: "
                "attest keys trust-node {node}"
            ).format(node=printable(stored.sealed.node_fingerprint, one_line=True))
        )
    return stored, open_verified(
        ctx.queue,
        stored,
        ctx.key,
        ctx.pins,
        check_files=check_files,
        trusted_reviewers=ctx.reviewer_pins,
        node_cutoffs=ctx.node_cutoffs,
        demo_resealers=ctx.demo_reviewer_pins,
    )


@review.command("show", help=_("Verify an account, then show consent, answers and files."))
@click.argument("account_id")
@pass_reviewer
def show_command(ctx: ReviewerContext, account_id: str) -> None:
    from storage.crypto.notes import notes_key, open_note

    with fail(ctx):
        account_id = ctx.resolve(account_id)
        stored, opened = _opened(ctx, account_id)
        ctx.queue.record(reviewer_actor(ctx.key.fingerprint), "opened", account_id)
        ctx.witness_advance()
        key = notes_key(
            stored.sealed,
            ctx.key,
            ctx.pins,
            reseals_for_key(ctx.queue, stored, ctx.key),
            ctx.reseal_signers,
        )
        notes = []
        for note in ctx.queue.notes(account_id):
            try:
                text = open_note(key, account_id, note.note_id, note.sealed)
            except CryptoError:
                text = _("(this note failed its integrity check and is not shown)")
            notes.append(ShownNote(note.author, note.created_at, text))
    text = render_account(opened, notes, ctx.t)
    if opened.item.urgent:
        for reason in urgent_reasons(opened.body):
            urgent = ctx.t.gettext(reason)
            text = text.replace(urgent, click.style(urgent, fg="red", bold=True), 1)
    if _on_terminal() and text.count("\n") + 1 > _terminal_lines() - 1:
        # A long account in a pager (less, or $PAGER): its start does not scroll away.
        click.echo_via_pager(text + "\n")
    else:
        click.echo(text)


@review.command("file", help=_("Decrypt attached file N of an account to PATH."))
@click.argument("account_id")
@click.argument("number", type=int)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@force_option(_("Replace the file at --out if there is one."))
@pass_reviewer
def file_command(
    ctx: ReviewerContext, account_id: str, number: int, out: Path, force: bool
) -> None:
    refuse_unsafe_out(out, force, _)
    with fail(ctx):
        account_id = ctx.resolve(account_id)
        _stored, opened = _opened(ctx, account_id, check_files=False)
        entries = {e.number: e for e in file_entries(opened.body)}
        if not entries:
            raise click.ClickException(_("This account has no attached files."))
        if number not in entries:
            raise click.ClickException(
                _("This account has {n} file(s); choose a number from 1 to {n}.").format(
                    n=len(entries)
                )
            )
        entry = entries[number]
        refuse_unsafe_out(out, force, _)  # again: the file may have appeared meanwhile
        with _writing(out):
            write_attachment(ctx.queue, account_id, entry, out)
        ctx.queue.record(
            reviewer_actor(ctx.key.fingerprint),
            "file-decrypted",
            account_id,
            {"file": entry.file_id},
        )
        ctx.witness_advance()
    click.echo(
        _("Decrypted and verified (sha256 {sha}) into {path}").format(sha=entry.sha256, path=out)
    )


@review.command("triage", help=_("Change an account's status or tags, or add a note."))
@click.argument("account_id")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--add-tag", multiple=True)
@click.option("--remove-tag", multiple=True)
@click.option("--note", default=None, help=_("Note text, or - to read it from standard input."))
@pass_reviewer
def triage_command(
    ctx: ReviewerContext,
    account_id: str,
    status: str | None,
    add_tag: tuple[str, ...],
    remove_tag: tuple[str, ...],
    note: str | None,
) -> None:
    from storage.crypto.notes import notes_key, seal_note

    if note is None:
        ctx.triage_only()  # tags and status: the triage key, no passphrase (issue 16)
    with fail(ctx):
        account_id = ctx.resolve(account_id)
        sealer: Callable[[str], bytes] | None = None
        if note is not None:
            stored = ctx.queue.get(account_id)
            key = notes_key(
                stored.sealed,
                ctx.key,
                ctx.pins,
                reseals_for_key(ctx.queue, stored, ctx.key),
                ctx.reseal_signers,
            )
            text = sys.stdin.read() if note == "-" else note
            if not text.strip():
                raise click.ClickException(_("The note is empty; nothing was saved."))

            def sealer(note_id: str) -> bytes:
                return seal_note(key, account_id, note_id, text.strip())

        changed = ctx.queue.triage(
            account_id,
            ctx.fingerprint,  # every audit entry is signed by its actor (issue 15)
            status=status,
            add_tags=add_tag,
            remove_tags=remove_tag,
            note=sealer,
        )
        ctx.witness_advance()
    click.echo(_("Saved.") if changed else _("Nothing to change."))


@review.command("export", help=_("Export accounts as far as each person's consent allows."))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "csv", "xlsx"]),
    default="json",
    show_default=True,
    help=_("xlsx: a workbook with a sheet of accounts and a sheet of answers (needs --out)."),
)
@click.option(
    "--layout",
    type=click.Choice(LAYOUTS),
    default=None,
    help=_(
        "CSV only: one row per answer (answers, the default) or one row per account with "
        "a column per question (accounts, for Uwazi or a spreadsheet)."
    ),
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help=_("File to write (default: standard output)."),
)
@force_option(_("Replace the file at --out if there is one."))
@click.option("--purpose", type=click.Choice(["reports", "mechanisms"]), default=None)
@click.option(
    "--internal",
    is_flag=True,
    help=_("Every account not withdrawn, whole, for the team (audited)."),
)
@click.option(
    "--include-free-text",
    is_flag=True,
    help=_(
        "Keep the free-text answers of anonymised accounts. They may name the person: "
        "read and redact them before the file is shared (audited)."
    ),
)
@click.option(
    "--include-notes",
    is_flag=True,
    help=_("With --internal: add the team's notes on each account (audited)."),
)
@click.option(
    "--status",
    "statuses",
    type=click.Choice(STATUSES),
    multiple=True,
    help=_("Only accounts with this status (repeat for several)."),
)
@click.option(
    "--tag", "tags", multiple=True, help=_("Only accounts with this tag (repeat for several).")
)
@click.option("--id", "ids", multiple=True, help=_("Only this account (repeat for several)."))
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help=_("Only accounts received on or after this day (YYYY-MM-DD)."),
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help=_("Only accounts received on or before this day (YYYY-MM-DD)."),
)
@pass_reviewer
def export_command(
    ctx: ReviewerContext,
    fmt: str,
    layout: str | None,
    out: Path | None,
    purpose: str | None,
    internal: bool,
    include_free_text: bool,
    force: bool,
    include_notes: bool,
    statuses: tuple[str, ...],
    tags: tuple[str, ...],
    ids: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
) -> None:

    if internal == (purpose is not None):
        raise click.UsageError(
            _("Choose one: --purpose reports, --purpose mechanisms, or --internal.")
        )
    if out is not None:
        refuse_unsafe_out(out, force, _)
    if layout is not None and fmt != "csv":
        raise click.UsageError(_("--layout is for --format csv only."))
    if fmt == "xlsx" and out is None:
        raise click.UsageError(_("A workbook cannot go to the screen: add --out FILE.xlsx"))
    if include_notes and not internal:
        raise click.UsageError(
            _("Notes are only ever exported for the team: use --include-notes with --internal.")
        )
    if since is not None and until is not None and since > until:
        raise click.UsageError(
            _("--since {since} is after --until {until}: nothing could match.").format(
                since=since.date().isoformat(), until=until.date().isoformat()
            )
        )
    selection = ExportFilter(
        statuses=frozenset(statuses),
        tags=frozenset(tags),
        ids=frozenset(ids),
        since=since.date() if since is not None else None,
        until=until.date() if until is not None else None,
    )
    with fail(ctx):
        moving = Progress()
        total = ctx.queue.count() if moving.shown else 0
        for account_id in ids:
            try:
                withdrawn = ctx.queue.item(account_id).withdrawn_at is not None
            except AccountNotFound:
                withdrawn = True
            if withdrawn:
                raise click.ClickException(
                    _(
                        "There is no account {id} to export (or it was withdrawn). Check the id "
                        "with: attest review list"
                    ).format(id=printable(account_id, one_line=True))
                )
        result = build_export(
            ctx.queue,
            ctx.key,
            ctx.pins,
            "internal" if internal else purpose,  # type: ignore[arg-type]
            include_free_text=include_free_text,
            trusted_reviewers=ctx.reviewer_pins,
            node_cutoffs=ctx.node_cutoffs,
            progress=lambda n: moving.update(
                _("Read {done}/{total} accounts").format(done=n, total=total)
            ),
            selection=selection,
            include_notes=include_notes,
            demo_resealers=ctx.demo_reviewer_pins,
        )
        moving.done()
    if fmt == "xlsx":
        data = to_xlsx(result.document["accounts"])
    elif fmt == "csv":
        data = to_csv(result.document["accounts"], layout or "answers").encode("utf-8")  # type: ignore[arg-type]
    else:
        data = to_json(result.document).encode("utf-8")
    # Written to a new owner-only file beside `out` before the export is audited, renamed
    # over `out` after: opening an existing file would keep its permissions (perhaps
    # world-readable), and a place that cannot be written fails before the audit log
    # records an export that never happened.
    staged = None if out is None else _stage(out, data)
    try:
        with fail(ctx):
            audit_export(ctx.queue, result, ctx.key.fingerprint, fmt)
            ctx.witness_advance()
        if out is None:
            click.echo(data.decode("utf-8"), nl=False)
        elif staged is not None:
            refuse_unsafe_out(out, force, _)
            with _writing(out):
                os.replace(staged, out)
            fsync_dir(out.parent)
    finally:
        if staged is not None:
            staged.unlink(missing_ok=True)
    click.echo(
        _(
            "Exported {n} account(s); left out {no} without consent for this purpose and {bad} that failed verification."
        ).format(n=len(result.exported), no=result.not_consented, bad=result.unverified),
        err=True,
    )
    for line in left_out_lines(result, _):
        click.echo(line, err=True)


def _stage(out: Path, data: bytes) -> Path:
    """`data` in a new owner-only temporary file in `out`'s folder (which must exist)."""
    with _writing(out):
        return write_temp(out.parent, data, PRIVATE_FILE_MODE)


@review.group("audit", help=_("The audit log of every action on the queue."))
def audit_group() -> None:
    pass


@audit_group.command("show", help=_("Show the audit log, or every entry about one account."))
@click.argument("account_id", required=False)
@click.option("--limit", default=50, show_default=True, help=_("How many of the newest entries."))
@pass_reviewer
def audit_show_command(ctx: ReviewerContext, account_id: str | None, limit: int) -> None:
    from storage.db import read_connection
    from storage.queue.audit import entries_for, newest

    with fail(ctx):
        whole = ctx.resolve(account_id) if account_id else None
        with read_connection(ctx.queue.engine) as conn:
            entries = entries_for(conn, whole) if whole else newest(conn, limit)
    if not entries:
        click.echo(_("No entries."))
    for entry in entries:
        detail = json.dumps(entry.detail, sort_keys=True) if entry.detail else ""
        row = "  ".join(
            [
                str(entry.seq),
                entry.at[:19],
                entry.actor,
                entry.action,
                entry.account_id or "-",
                detail,
            ]
        )
        click.echo(printable(row, one_line=True).rstrip())


@audit_group.command(
    "verify",
    help=_(
        "Check the audit log's hash chain and signatures, and that its end was not cut off. "
        "Exit status: 0 intact, 1 could not check, 2 tampered with, 3 entries signed by "
        "keys you have not pinned."
    ),
)
@pass_reviewer
def audit_verify_command(ctx: ReviewerContext) -> None:
    from storage.db import read_connection
    from storage.queue.audit import verify_chain

    ctx.read_only()  # pinned public keys only: no private key, no passphrase
    with fail(ctx):
        queue = ctx.queue
        seen = ctx.witness.seen(queue.queue_id)
        with read_connection(queue.engine) as conn:
            report = verify_chain(
                conn,
                seen,
                trusted_reviewers={
                    fp: key.signing_key
                    for fp, key in ctx.reviewer_pins.items()
                    if key.signing_key is not None
                },
                trusted_nodes=ctx.pins,
                demo_signers={
                    fp: key.signing_key
                    for fp, key in ctx.demo_reviewer_pins.items()
                    if key.signing_key is not None
                },
            )
    if not ctx.witness.same_queue(ctx.where, queue.queue_id):
        click.echo(_("The audit log has been tampered with:"), err=True)
        click.echo(
            "  "
            + _(
                "This queue's identity changed since this machine last saw it, so its log "
                "may have been replaced. If the queue was deliberately set up anew, delete "
                "{path} and verify again."
            ).format(path=ctx.witness.path),
            err=True,
        )
        sys.exit(EXIT_TAMPERED)
    if report.ok:
        click.echo(
            _("The audit log is intact: {n} entries, newest {seq} ({hash}).").format(
                n=report.entries, seq=report.head_seq, hash=report.head_hash[:16]
            )
        )
        if report.history:
            click.echo(
                _(
                    "{n} entries are from before entries were signed; only their hash chain "
                    "was checked."
                ).format(n=report.history)
            )
        if report.by_admin:
            click.echo(
                _(
                    "{n} entries were written by an administrator's command and are not signed "
                    "(on PostgreSQL only the database's owner can write those)."
                ).format(n=report.by_admin)
            )
        if report.by_demo:
            click.echo(
                warning(
                    _(
                        "{n} entries are signed by the demo key you pinned for recovery: anyone "
                        "with the node's machine holds it, so who wrote them is not known. Only "
                        "their hash chain counts, and they count as no reviewer's."
                    ).format(n=report.by_demo)
                )
            )
        if seen is None:
            click.echo(
                _("This machine had not seen this log before; it remembers its end from now on.")
            )
        ctx.witness_advance()
        return
    if report.tampered:
        click.echo(_("The audit log has been tampered with:"), err=True)
        for problem in report.tampered:
            click.echo(
                "  " + _("entry {seq}: {reason}").format(seq=problem.seq, reason=_(problem.reason)),
                err=True,
            )
    for problem in report.unpinned:
        kind, _sep, fingerprint = str(problem.unpinned).partition(":")
        click.echo(
            _unpinned_line(kind).format(
                seq=problem.seq, fingerprint=printable(fingerprint, one_line=True)
            ),
            err=True,
        )
    sys.exit(EXIT_TAMPERED if report.tampered else EXIT_NOT_PINNED)


# `audit verify` exit statuses: 0 intact; 1 could not check (no queue, a damaged pin
# file, ...); 2 tampered with (also when a queue's identity changed); 3 nothing wrong
# with the chain, but entries are signed by keys you have not pinned.
EXIT_TAMPERED = 2
EXIT_NOT_PINNED = 3


def _unpinned_line(kind: str) -> str:
    if kind == "node":
        return _(
            "entry {seq} is signed by a node key you have not pinned (fingerprint "
            "{fingerprint}): if that node is yours, check the fingerprint with whoever runs "
            "it and pin it with `attest keys trust-node {fingerprint}`."
        )
    return _(
        "entry {seq} is signed by a reviewer key you have not pinned (fingerprint "
        "{fingerprint}): if it is a colleague's, pin it with `attest keys trust-reviewer "
        "FILE`; if it is the demo key, someone used the demo key on this queue."
    )


# `attest review reseal` lives in its own module (key lifecycle, issue 15).
from review.reseal import reseal_command  # noqa: E402

review.add_command(reseal_command)

__all__ = ["review"]
