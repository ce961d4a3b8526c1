"""`attest sync`, `attest queue init|import`, `attest keys trust-node`.

attest queue init [--node-role NAME]   create or migrate the queue (administrator rights);
                                       on PostgreSQL, also a login role for the node with
                                       INSERT only (password from ATTEST_NODE_ROLE_PASSWORD)
attest sync [--watch]                  outbox -> queue; retries with backoff; the node's
                                       copy is deleted only once the queue committed it
attest queue import FILE               merge a field kit's SQLite queue, idempotently
attest keys trust-node FILE|FINGERPRINT  pin a node's signing key on this machine
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from bot.settings import Settings, SettingsError, load_settings
from flows.i18n import translator
from storage.crypto import CryptoError, NodeKeys
from storage.db import create_store_engine
from storage.errors import StorageError
from storage.intake.keyring import node_key_path
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
from storage.queue.node_pins import NodePins, parse_node_public_key, pins_path_from_env
from storage.queue.store import Queue
from storage.sync import Outbox, SyncProgress, sync_outbox, with_retries


def _(message: str) -> str:
    return translator(os.environ.get("ATTEST_LANGUAGE", "en")).gettext(message)


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
    engine = open_queue(url)
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
        raise click.ClickException(_(str(error))) from None
    finally:
        engine.dispose()


@queue.command("import", help=_("Merge a field kit's queue file into this queue (safe to repeat)."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    source = create_store_engine(file)
    target = open_queue(queue_url_from_env())
    try:
        queue_id(source)
        queue_id(target)

        def show(done: int, total: int) -> None:
            click.echo(
                _("Imported {done}/{total} accounts").format(done=done, total=total), err=True
            )

        damaged: list[int] = []
        intact = kit_log_intact(source)
        accounts, requests = import_queue_file(
            source, target, progress=show, damaged_times=damaged.append
        )
        receipts, withdrawn = Queue(target).reconcile()
    except StorageError as error:
        raise click.ClickException(_(str(error))) from None
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
    if not intact:
        click.echo(
            _(
                "WARNING: the field kit's own audit log is damaged, so the file may have been "
                "changed on the way. Its accounts were imported; each is still checked against "
                "its node's signature when a reviewer opens it."
            ),
            err=True,
        )


def _sync_once(data_dir: Path, intake_url: str | None, queue_url: str) -> None:
    intake_path = data_dir / DATABASE_FILE
    if intake_url is None and not intake_path.exists():
        click.echo(_("Nothing to sync: this node has no intake store yet."))
        return
    node = NodeKeys.load(node_key_path(data_dir))
    intake = create_store_engine(intake_url or intake_path)
    outbox = Outbox(intake, data_dir / FILES_DIR)
    target = open_queue(queue_url)
    try:
        if not outbox.exists():
            click.echo(_("Nothing to sync: this node has no intake store yet."))
            return
        if target.dialect.name == "sqlite":
            # A queue file (field kit) is created on first use; PostgreSQL needs `queue init`.
            migrate_queue(target)

        def show(p: SyncProgress) -> None:
            if p.withdrawals_done:
                line = _("Synced {done}/{total} withdrawal requests").format(
                    done=p.withdrawals_done, total=p.withdrawals_total
                )
            else:
                line = _("Synced {done}/{total} accounts").format(
                    done=p.accounts_done, total=p.accounts_total
                )
            click.echo(line, err=True)

        report = sync_outbox(
            outbox, target, {node.fingerprint: node.public_key_bytes}, progress=show
        )
    finally:
        intake.dispose()
        target.dispose()
    click.echo(
        _(
            "Sync done: {accounts} accounts, {files} files, {withdrawals} withdrawal requests."
        ).format(accounts=report.accounts, files=report.files, withdrawals=report.withdrawals)
    )
    if report.receipts_logged is None:
        click.echo(_("Receipts and withdrawals will be applied by the next reviewer command."))


@click.command(help=_("Move sealed accounts and withdrawal requests from this node to the queue."))
@click.option("--watch", is_flag=True, help=_("Keep syncing every --interval seconds."))
@click.option("--interval", default=30.0, show_default=True)
def sync(watch: bool, interval: float) -> None:
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

    try:
        while True:
            with_retries(
                lambda: _sync_once(data_dir, intake_url, queue_url),
                attempts=None if watch else 6,
                on_retry=on_retry,
            )
            if not watch:
                return
            time.sleep(interval)
    except (CryptoError, StorageError) as error:
        raise click.ClickException(_(str(error))) from None
    except KeyboardInterrupt:
        click.echo(_("Stopped."), err=True)


@click.command(
    "trust-node",
    help=_("Trust accounts signed by this node key (FILE with its public key, or FINGERPRINT)."),
)
@click.argument("key_or_fingerprint")
def trust_node(key_or_fingerprint: str) -> None:
    pins = NodePins(pins_path_from_env())
    path = Path(key_or_fingerprint).expanduser()
    try:
        if path.is_file():
            public_key = parse_node_public_key(path.read_text("utf-8"))
        else:
            engine = open_queue(queue_url_from_env())
            try:
                found = Queue(engine).node_key(key_or_fingerprint.strip())
            finally:
                engine.dispose()
            if found is None:
                raise click.ClickException(
                    _(
                        "No node with that fingerprint has synced to this queue yet. Pin it from "
                        "the public key instead: on the node run `attest keys node`, save the key "
                        "to a file, and give that file here."
                    )
                )
            public_key = found
        fingerprint = pins.pin(public_key)
    except StorageError as error:
        raise click.ClickException(_(str(error))) from None
    click.echo(
        _("Trusted node {fingerprint}. Accounts it signs can now be opened.").format(
            fingerprint=fingerprint
        )
    )
