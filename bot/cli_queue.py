"""`attest sync`, `attest queue init|import`, `attest keys trust-node`.

attest queue init [--node-role NAME]   create or migrate the queue (administrator rights);
                                       on PostgreSQL, also a login role for the node with
                                       INSERT only (password from ATTEST_NODE_ROLE_PASSWORD)
attest sync [--watch]                  outbox -> queue; retries with backoff; the node's
                                       copy is deleted only once the queue committed it
attest queue import FILE               merge a field kit's SQLite queue, idempotently
attest queue withdrawals list|confirm BATCH|reject BATCH
                                       bursts of withdrawal requests held for an
                                       administrator (more than ATTEST_WITHDRAWAL_BURST,
                                       default 5, in one sync or import)
attest keys trust-node FILE|FINGERPRINT  pin a node's signing key on this machine (the
                                       whole fingerprint; the key must hash to it)
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.node_key import load_node_keys
from bot.settings import Settings, SettingsError, load_settings
from flows.i18n import translator
from review.progress import Progress
from storage.crypto import CryptoError
from storage.db import create_store_engine
from storage.errors import StorageError
from storage.intake.keyring import UNOPENABLE_HELP, UNOPENABLE_SYNCED, load_reviewer_keys
from storage.intake.outbox import sealed_only_to_others
from storage.intake.store import DATABASE_FILE, FILES_DIR
from storage.queue.admin import (
    create_node_role,
    create_reviewer_role,
    display_url,
    migrate_queue,
    open_queue,
    queue_id,
    queue_url_from_env,
)
from storage.queue.kit_import import import_queue_file, kit_log_intact
from storage.queue.node_pins import (
    NodePins,
    PinError,
    close_fingerprints,
    full_fingerprint,
    parse_node_public_key,
    pins_path_from_env,
)
from storage.queue.reach import NOT_A_QUEUE_FILE, QueueAccessError, explain
from storage.queue.store import Queue
from storage.queue.withdrawals import HELD_NOTICE, HeldBatch, withdrawal_burst_from_env
from storage.sync import (
    OLD_FORMAT_LEFT,
    Outbox,
    SyncProgress,
    node_signer,
    sync_outbox,
    with_retries,
)


def _(message: str) -> str:
    return translator(os.environ.get("ATTEST_LANGUAGE", "en")).gettext(message)


def _message(error: StorageError) -> str:
    """A storage error's message in the operator's language."""
    if isinstance(error, QueueAccessError):
        return error.translated(_)
    return _(str(error))


def _burst() -> int:
    try:
        return withdrawal_burst_from_env()
    except StorageError as error:
        raise click.ClickException(_message(error)) from None


def _queue(engine: Any) -> Queue:
    return Queue(engine, withdrawal_burst=_burst())


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


@click.group(help=_("Create, migrate or import a reviewer queue."))
def queue() -> None:
    pass


@queue.command("init", help=_("Create or migrate the reviewer queue (administrator rights)."))
@click.option(
    "--node-role", default=None, help=_("PostgreSQL: create this login role with INSERT only.")
)
@click.option(
    "--reviewer-role",
    default=None,
    help=_("PostgreSQL: create this login role for reviewers (cannot change the audit log)."),
)
def init_command(node_role: str | None, reviewer_role: str | None) -> None:
    url = queue_url_from_env()
    try:
        engine = open_queue(url)
    except StorageError as error:
        raise click.ClickException(_message(error)) from None
    try:
        qid = migrate_queue(engine)
        click.echo(
            _("The reviewer queue at {url} is ready (queue {id}).").format(
                url=display_url(url), id=qid
            )
        )
        if node_role:
            grants = create_node_role(
                engine, node_role, os.environ.get("ATTEST_NODE_ROLE_PASSWORD")
            )
            click.echo(_("Role {role} may now only insert accounts:").format(role=node_role))
            for grant in grants:
                click.echo(f"  {grant};")
        if reviewer_role:
            grants = create_reviewer_role(
                engine, reviewer_role, os.environ.get("ATTEST_REVIEWER_ROLE_PASSWORD")
            )
            click.echo(
                _("Role {role} may now review, and only append to the audit log:").format(
                    role=reviewer_role
                )
            )
            for grant in grants:
                click.echo(f"  {grant};")
    except StorageError as error:
        raise click.ClickException(_message(error)) from None
    except Exception as error:
        # The reviewer's or node's role running init, a server that went away, …
        explained = explain(error)
        if explained is None:
            raise
        raise click.ClickException(explained.translated(_)) from None
    finally:
        engine.dispose()


@queue.command("import", help=_("Merge a field kit's queue file into this queue (safe to repeat)."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--accept-old-format",
    is_flag=True,
    help=_(
        "Import a kit written by an older version (clear withdrawal tags); its withdrawal "
        "requests are held for an administrator."
    ),
)
def import_command(file: Path, accept_old_format: bool) -> None:
    try:
        target = open_queue(queue_url_from_env(), create=False)
    except StorageError as error:
        raise click.ClickException(_message(error)) from None
    source = create_store_engine(file)
    try:
        try:
            queue_id(source)
        except StorageError:
            # Not a database, an empty file, a database of something else: not a kit.
            raise QueueAccessError(NOT_A_QUEUE_FILE, path=str(file)) from None
        queue_id(target)

        moving = Progress()

        def show(done: int, total: int) -> None:
            moving.update(_("Imported {done}/{total} accounts").format(done=done, total=total))

        damaged: list[int] = []
        refused: list[int] = []
        intact = kit_log_intact(source)
        accounts, requests = import_queue_file(
            source,
            target,
            progress=show,
            damaged_times=damaged.append,
            refused_old_format=refused.append,
            accept_old_format=accept_old_format,
        )
        moving.done()
        checked = _queue(target)
        receipts, withdrawn = checked.reconcile()
        held = checked.held_count()
    except StorageError as error:
        raise click.ClickException(_message(error)) from None
    finally:
        source.dispose()
        target.dispose()
    click.echo(
        _(
            "Read {accounts} accounts and {requests} withdrawal requests; {new} new, {withdrawn} withdrawn."
        ).format(accounts=accounts, requests=requests, new=receipts, withdrawn=withdrawn)
    )
    if sum(damaged):
        click.echo(
            _(
                "{rows} rows had a damaged date or time. They were imported all the same: "
                "the time of this import stands in for a damaged receipt time."
            ).format(rows=sum(damaged)),
            err=True,
        )
    if sum(refused):
        click.echo(
            _(
                "{count} accounts in the kit were sealed by an older version of Attest with "
                "their withdrawal tag in the clear; in the queue, anyone who can read it "
                "could withdraw them. They were not imported and stay in the kit file."
            ).format(count=sum(refused)),
            err=True,
        )
    if held:
        click.echo(_(HELD_NOTICE).format(count=held), err=True)
    if not intact:
        click.echo(
            _(
                "WARNING: the field kit's own audit log is damaged, so the file may have been "
                "changed on the way. Its accounts were imported; each is still checked against "
                "its node's signature when a reviewer opens it."
            ),
            err=True,
        )


def _sync_once(
    data_dir: Path,
    intake_url: str | None,
    queue_url: str,
    send_old_format: bool,
    watching: bool = False,
) -> None:
    """One sync; `watching`: say nothing unless something moved, then with the time."""
    intake_path = data_dir / DATABASE_FILE
    if intake_url is None and not intake_path.exists():
        if not watching:
            click.echo(_("Nothing to sync: this node has no intake store yet."))
        return
    node = load_node_keys(data_dir)
    intake = create_store_engine(intake_url or intake_path)
    outbox = Outbox(intake, data_dir / FILES_DIR)
    target = open_queue(queue_url)
    try:
        if not outbox.exists():
            if not watching:
                click.echo(_("Nothing to sync: this node has no intake store yet."))
            return
        if target.dialect.name == "sqlite":
            # A queue file (field kit) is created on first use; PostgreSQL needs `queue init`.
            migrate_queue(target)

        unopenable = _unopenable(data_dir, intake)
        moving = Progress()

        def show(p: SyncProgress) -> None:
            if p.withdrawals_done:
                line = _("Synced {done}/{total} withdrawal requests").format(
                    done=p.withdrawals_done, total=p.withdrawals_total
                )
            else:
                line = _("Synced {done}/{total} accounts").format(
                    done=p.accounts_done, total=p.accounts_total
                )
            moving.update(line)

        report = sync_outbox(
            outbox,
            target,
            node.public_keys(),
            progress=show,
            burst=_burst(),
            send_old_format=send_old_format,
            signer=node_signer(node),
            rotations=node.rotations,
        )
        moving.done()
        held = 0
        if report.receipts_logged is not None:
            held = _queue(target).held_count()
    finally:
        intake.dispose()
        target.dispose()
    moved = report.accounts or report.withdrawals or report.refused_old_format
    if watching and not moved:
        return
    done = _(
        "Sync done: {accounts} accounts, {files} files, {withdrawals} withdrawal requests."
    ).format(accounts=report.accounts, files=report.files, withdrawals=report.withdrawals)
    if watching:
        done = f"[{datetime.now(UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC] {done}"
    click.echo(done)
    if report.receipts_logged is None and (report.accounts or report.withdrawals):
        click.echo(_("Receipts and withdrawals will be applied by the next reviewer command."))
    if held:
        click.echo(_(HELD_NOTICE).format(count=held), err=True)
    if report.refused_old_format:
        click.echo(_(OLD_FORMAT_LEFT).format(count=report.refused_old_format), err=True)
    if unopenable and report.accounts:
        click.echo(_(UNOPENABLE_SYNCED).format(count=min(unopenable, report.accounts)), err=True)
        click.echo(_(UNOPENABLE_HELP), err=True)


def _unopenable(data_dir: Path, intake: Any) -> int:
    """Accounts in the outbox none of the keys this node seals to now opens (count only).

    0 when the reviewer keys cannot be read: sync goes on, `attest keys list` names the file.
    """
    try:
        in_use = [key.fingerprint for key in load_reviewer_keys(data_dir, os.environ)]
    except (StorageError, OSError):
        return 0
    return (sealed_only_to_others(intake, in_use) or 0) if in_use else 0


@click.command(help=_("Move sealed accounts and withdrawal requests from this node to the queue."))
@click.option("--watch", is_flag=True, help=_("Keep syncing every --interval seconds."))
@click.option("--interval", default=30.0, show_default=True)
@click.option(
    "--send-old-format",
    is_flag=True,
    help=_(
        "Also send accounts sealed by an older version, whose withdrawal tag is in the "
        "clear (whoever reads the queue could withdraw them)."
    ),
)
def sync(watch: bool, interval: float, send_old_format: bool) -> None:
    settings = _settings()
    data_dir, intake_url = settings.data_dir, settings.database_url
    queue_url = queue_url_from_env()

    def on_retry(attempt: int, delay: float) -> None:
        click.echo(
            _(
                "The queue at {url} cannot be reached; trying again in {delay:.0f} s (attempt {n})."
            ).format(url=display_url(queue_url), delay=delay, n=attempt),
            err=True,
        )

    if watch:
        click.echo(
            _("Watching this node's outbox every {interval:g} s; Ctrl-C stops.").format(
                interval=interval
            )
        )
    try:
        while True:
            with_retries(
                lambda: _sync_once(data_dir, intake_url, queue_url, send_old_format, watch),
                attempts=None if watch else 6,
                on_retry=on_retry,
            )
            if not watch:
                return
            time.sleep(interval)
    except (CryptoError, StorageError) as error:
        raise click.ClickException(_message(error)) from None


@click.command(
    "trust-node",
    help=_("Trust accounts signed by this node key (FILE with its public key, or FINGERPRINT)."),
)
@click.argument("key_or_fingerprint")
def trust_node(key_or_fingerprint: str) -> None:
    pins = NodePins(pins_path_from_env())
    path = Path(key_or_fingerprint).expanduser()
    try:
        expected: str | None = None
        if path.is_dir():
            raise click.ClickException(
                _(
                    "{path} is a folder, not a key file. Give the file with the node's public "
                    "key (what `attest keys node` prints on the node), or the node's whole "
                    "fingerprint."
                ).format(path=path)
            )
        if path.is_file():
            public_key = parse_node_public_key(path.read_text("utf-8"))
        else:
            try:
                expected = full_fingerprint(key_or_fingerprint)
            except PinError:
                if not _looks_like_a_path(key_or_fingerprint):
                    raise
                raise click.ClickException(
                    _(
                        "There is no file {path}. Give the file with the node's public key "
                        "(what `attest keys node` prints on the node), or the node's whole "
                        "fingerprint."
                    ).format(path=path)
                ) from None
            engine = open_queue(queue_url_from_env(), create=False)
            try:
                found = Queue(engine).node_key(expected)
                synced = [] if found is not None else Queue(engine).node_fingerprints()
            finally:
                engine.dispose()
            if found is None:
                raise click.ClickException(_not_synced(expected, synced))
            public_key = found
        fingerprint = pins.pin(public_key, expected)
    except StorageError as error:
        raise click.ClickException(_message(error)) from None
    click.echo(
        _("Trusted node {fingerprint}. Accounts it signs can now be opened.").format(
            fingerprint=fingerprint
        )
    )


def _not_synced(typed: str, synced: list[str]) -> str:
    """No synced node has `typed`: a likely typo named (fingerprints are public), else how
    to pin from the key itself."""
    close = close_fingerprints(typed, synced)
    if len(close) == 1:
        return _(
            "No node with fingerprint {typed} has synced to this queue, but node {close} has, "
            "which differs by a character or two. Check for a typo and compare it with what "
            "`attest keys node` prints on the node."
        ).format(typed=typed, close=close[0])
    if len(synced) == 1:
        return _(
            "No node with fingerprint {typed} has synced to this queue. One node has: {only}. "
            "If that is the node you mean, check for a typo and compare it with what "
            "`attest keys node` prints on the node."
        ).format(typed=typed, only=synced[0])
    return _(
        "No node with that fingerprint has synced to this queue yet. Pin it from "
        "the public key instead: on the node run `attest keys node`, save the key "
        "to a file, and give that file here."
    )


def _looks_like_a_path(text: str) -> bool:
    """A fingerprint is hex (spaces allowed): a folder, a dot or a `~` means a file name."""
    return any(mark in text for mark in ("/", "\\", ".", "~"))


@queue.group(
    "withdrawals",
    help=_("Bursts of withdrawal requests held for an administrator (list, confirm, reject)."),
)
def withdrawals_group() -> None:
    pass


def _shown(value: str) -> str:
    """An id from the queue, printable: ids are hex, but whoever inserts a row picks them.

    Anything else is shown as an escape instead of reaching the terminal.
    """
    return "".join(
        c if c.isascii() and (c.isalnum() or c in "-_") else f"\\u{ord(c):04x}" for c in value
    )


def _held_queue() -> Queue:
    """The queue, with receipts logged and new requests examined (administrator rights)."""
    try:
        held_queue = _queue(open_queue(queue_url_from_env(), create=False))
    except StorageError as error:
        raise click.ClickException(_message(error)) from None
    try:
        held_queue.queue_id  # noqa: B018 - fails clearly when the queue was never set up
        held_queue.reconcile()
    except StorageError as error:
        held_queue.close()
        raise click.ClickException(_message(error)) from None
    return held_queue


@withdrawals_group.command("list", help=_("Show the held withdrawal batches."))
def withdrawals_list() -> None:
    held_queue = _held_queue()
    try:
        batches = held_queue.held_batches()
        waiting = held_queue.waiting_requests()
    finally:
        held_queue.close()
    _list_held(batches)
    if waiting:
        click.echo(
            _(
                "{count} withdrawal requests are waiting for an account that has not arrived "
                "in the queue. Each is applied if its account arrives (a node that has not "
                "synced yet); a person may write to ask whether theirs was found. Made:"
            ).format(count=len(waiting))
        )
        for made in waiting:
            click.echo(f"  {made.isoformat(timespec='minutes')}")


def _list_held(batches: list[HeldBatch]) -> None:
    if not batches:
        click.echo(_("No withdrawal requests are held."))
        return
    for batch in batches:
        first = (
            batch.first_requested.isoformat(timespec="minutes") if batch.first_requested else "?"
        )
        last = batch.last_requested.isoformat(timespec="minutes") if batch.last_requested else "?"
        click.echo(
            _(
                "Batch {batch}: {requests} requests, made {first} to {last}; they would "
                "withdraw {matched} accounts in the queue now."
            ).format(
                batch=_shown(batch.batch),
                requests=batch.requests,
                first=first,
                last=last,
                matched=len(batch.account_ids),
            )
        )
        for account_id in batch.account_ids:
            click.echo(f"  {_shown(account_id)}")
    click.echo(
        _(
            "Confirm a batch only if these withdrawals are expected (for example, people "
            "who told your organisation). `attest queue withdrawals confirm BATCH` erases "
            "the accounts for good; `reject BATCH` deletes the requests and erases nothing."
        )
    )


@withdrawals_group.command(
    "confirm", help=_("Apply a held batch: its accounts are withdrawn for good.")
)
@click.argument("batch")
def withdrawals_confirm(batch: str) -> None:
    held_queue = _held_queue()
    try:
        count = held_queue.decide_batch(batch.strip(), confirm=True)
        withdrawn = held_queue.apply_withdrawals()
    except StorageError as error:
        raise click.ClickException(_message(error)) from None
    finally:
        held_queue.close()
    click.echo(
        _("Confirmed {count} withdrawal requests; {withdrawn} accounts withdrawn.").format(
            count=count, withdrawn=withdrawn
        )
    )


@withdrawals_group.command(
    "reject", help=_("Delete a held batch of withdrawal requests; nothing is erased.")
)
@click.argument("batch")
def withdrawals_reject(batch: str) -> None:
    held_queue = _held_queue()
    try:
        count = held_queue.decide_batch(batch.strip(), confirm=False)
    except StorageError as error:
        raise click.ClickException(_message(error)) from None
    finally:
        held_queue.close()
    click.echo(
        _(
            "Rejected {count} withdrawal requests; no account was erased. If a person asks "
            "again, their new request is taken as usual."
        ).format(count=count)
    )
