"""Key lifecycle commands: upgrade and pin reviewer keys; rotate and untrust node keys.

    attest keys upgrade --key FILE [--name NAME]   a version 1 reviewer.key (and the
                                                   reviewer.pub beside it) gain an
                                                   Ed25519 signing key; same passphrase
    attest keys trust-reviewer FILE                pin a reviewer's reviewer.pub: their
                                                   reseals and audit entries are trusted
    attest keys new-triage-key [--key FILE]        a fresh triage key (reviewer.triage),
                                                   certified by the reviewer key; it
                                                   replaces every earlier one, recorded
                                                   in the queue at once

    attest keys rotate-node                        (on the node) a new signing key,
                                                   certified by the old one
    attest keys untrust-node FP [--after TIME]     (reviewer) refuse accounts from FP, or
                                                   those the queue received after TIME

The passphrase is read from ATTEST_REVIEWER_PASSPHRASE or asked without echo.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from flows.i18n import translator
from storage.crypto import CryptoError, ReviewerPrivateKey, ReviewerPublicKey
from storage.errors import KeyFileMissing, StorageError
from storage.intake.keyring import PUBLIC_FILE
from storage.queue.reviewer_pins import ReviewerPins, reviewer_pins_path_from_env

if TYPE_CHECKING:
    from storage.crypto.triage import TriageKey

PASSPHRASE_ENV = "ATTEST_REVIEWER_PASSPHRASE"


def _(message: str) -> str:
    return translator(os.environ.get("ATTEST_LANGUAGE", "en")).gettext(message)


def _fail(error: StorageError) -> click.ClickException:
    if isinstance(error, KeyFileMissing):
        return click.ClickException(_("There is no key file at {path}.").format(path=error.path))
    return click.ClickException(_(str(error)))


@click.command(
    "upgrade",
    help=_(
        "Give a version 1 reviewer key a signing key (for audit entries and reseals). "
        "The passphrase and the fingerprint stay the same."
    ),
)
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("Your private key file (reviewer.key)."),
)
@click.option("--name", default="", help=_("A display name for this key."))
def upgrade_command(key_file: Path, name: str) -> None:
    _refuse_public_half(key_file)
    passphrase = os.environ.get(PASSPHRASE_ENV) or click.prompt(
        _("Passphrase for your reviewer key"), hide_input=True, err=True
    )
    try:
        key = ReviewerPrivateKey.load(key_file, passphrase)
        if key.can_sign:
            raise click.ClickException(_("This reviewer key can already sign; nothing to do."))
        upgraded = key.upgraded(name)
        # The private file first: if writing the public file then fails, the private key
        # still holds everything and `upgrade` can write the public file again.
        upgraded.replace(key_file, passphrase)
        if ReviewerPrivateKey.load(key_file, passphrase).public != upgraded.public:
            raise click.ClickException(_("The upgraded key did not read back the same."))
        upgraded.public.save(key_file.parent / PUBLIC_FILE)
        _new_triage_key(upgraded, key_file, replacing=False)
    except CryptoError as exc:
        raise _fail(exc) from None
    from storage.crypto.triage import triage_key_path

    click.echo(
        _("Upgraded reviewer key {fingerprint}: it can now sign. Public key: {path}").format(
            fingerprint=upgraded.fingerprint, path=key_file.parent / PUBLIC_FILE
        )
    )
    click.echo(
        _(
            "Triage key (signs claims, releases, tags and status without a passphrase): {path}"
        ).format(path=triage_key_path(key_file))
    )
    click.echo(
        _(
            "Give the new reviewer.pub to the other reviewers ('attest keys trust-reviewer "
            "FILE') and to the node. Backups of the old reviewer.key still open the same "
            "accounts, but cannot sign."
        )
    )


def _refuse_public_half(key_file: Path, *, option: bool = True) -> None:
    """Before any passphrase is asked: the public half (reviewer.pub) given for the key."""
    from storage.crypto.keyfiles import read_json_file
    from storage.crypto.reviewer import PUBLIC_HALF

    try:
        kind = read_json_file(key_file).get("kind")
    except CryptoError:
        return  # missing or damaged: loading it says which
    if kind != "attest-reviewer-public-key":
        return
    if not option:
        raise click.ClickException(_(PUBLIC_HALF))
    raise click.ClickException(
        _(
            "{path} is the public half of a reviewer key (reviewer.pub). Give --key the "
            "private key file, reviewer.key, made beside it."
        ).format(path=key_file)
    )


def _new_triage_key(key: ReviewerPrivateKey, key_file: Path, *, replacing: bool) -> TriageKey:
    """Certify a new triage key with `key` and put it beside `key_file`."""
    from storage.crypto.triage import issue_triage_key, triage_key_path

    path = triage_key_path(key_file)
    triage = issue_triage_key(key, replaces_earlier=replacing)
    if replacing:
        triage.replace(path)
    else:
        # One already there is kept (a triage command checks it against the key, and
        # `new-triage-key` replaces it): this path never overwrites a key file.
        with contextlib.suppress(FileExistsError):
            triage.save(path)
    return triage


def _record_replacement(key: ReviewerPrivateKey, triage: TriageKey) -> str | None:
    """Write the `triage-key-replaced` entry, signed with the main key; None when it is in
    the queue, else why the queue could not be reached (a translated line)."""
    from storage.queue.admin import check_schema, queue_url_from_env
    from storage.queue.audit import AuditSigner
    from storage.queue.items import reviewer_actor
    from storage.queue.reach import explain
    from storage.queue.store import Queue
    from storage.queue.triage_signatures import REPLACED_ACTION

    actor = reviewer_actor(key.fingerprint)
    queue = None
    try:
        queue = Queue.open(queue_url_from_env(dict(os.environ)), create=False)
        queue.queue_id  # noqa: B018 - fails clearly when the queue was never set up
        check_schema(queue.engine)
        queue.signer = AuditSigner(actor, key.sign)
        queue.record(actor, REPLACED_ACTION, None, {"certificate": triage.certificate.to_text()})
    except Exception as error:
        explained = explain(error)
        if explained is None and not isinstance(error, StorageError):
            raise
        return explained.translated(_) if explained is not None else _(str(error))
    finally:
        if queue is not None:
            queue.close()
    return None


@click.command(
    "new-triage-key",
    help=_(
        "Make a new triage key (reviewer.triage, which signs claims, releases, tags and "
        "status without a passphrase), certified by your reviewer key. The replacement "
        "is recorded in the queue at once: audit entries signed with any earlier triage "
        "key are refused from then on."
    ),
)
@click.option(
    "--key",
    "key_file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("Your private key file (reviewer.key); default ATTEST_REVIEWER_KEY."),
)
def new_triage_key_command(key_file: Path | None) -> None:
    configured = os.environ.get("ATTEST_REVIEWER_KEY")
    if key_file is None and not configured:
        raise click.UsageError(_("Name your reviewer key: --key FILE or ATTEST_REVIEWER_KEY."))
    _refuse_public_half(key_file or Path(str(configured)).expanduser(), option=bool(key_file))
    key_file = key_file or Path(str(configured)).expanduser()
    passphrase = os.environ.get(PASSPHRASE_ENV) or click.prompt(
        _("Passphrase for your reviewer key"), hide_input=True, err=True
    )
    try:
        key = ReviewerPrivateKey.load(key_file, passphrase)
        if not key.can_sign:
            raise click.ClickException(
                _(
                    "This reviewer key is of the old kind and cannot sign. Run 'attest keys "
                    "upgrade --key {path}' first."
                ).format(path=key_file)
            )
        triage = _new_triage_key(key, key_file, replacing=True)
    except CryptoError as exc:
        raise _fail(exc) from None
    from storage.crypto.triage import triage_key_path

    click.echo(_("New triage key: {path}").format(path=triage_key_path(key_file)))
    problem = _record_replacement(key, triage)
    if problem is not None:
        raise click.ClickException(
            _(
                "The replacement was not recorded in the queue: {reason} Until it is, audit "
                "entries signed with your earlier triage key still count. Run 'attest keys "
                "new-triage-key' again where the queue can be reached (ATTEST_QUEUE_URL), or "
                "make a claim, release or tag with the new key there soon."
            ).format(reason=problem)
        )
    click.echo(
        _(
            "The replacement is recorded in the queue: audit entries signed with an earlier "
            "triage key of yours are refused from now on. Copy this file to any other "
            "computer where you use this reviewer key."
        )
    )


@click.command(
    "trust-reviewer",
    help=_(
        "Trust the signatures of the reviewer whose reviewer.pub is FILE (their reseals "
        "and audit entries). Compare the fingerprint with them first."
    ),
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--demo-recovery",
    is_flag=True,
    help=_(
        "FILE is the node's demo reviewer key: accept its reseals only, to open accounts "
        "sealed to the demo key alone. They are marked: who resealed them is not known."
    ),
)
def trust_reviewer_command(file: Path, demo_recovery: bool) -> None:
    try:
        key = ReviewerPublicKey.load(file)
        ReviewerPins(reviewer_pins_path_from_env()).pin(key, demo_recovery=demo_recovery)
    except StorageError as exc:
        raise _fail(exc) from None
    if demo_recovery:
        click.echo(
            _("Pinned the demo reviewer key {fingerprint} for recovery only.").format(
                fingerprint=key.fingerprint
            )
        )
        click.echo(
            click.style(
                _(
                    "WARNING: anyone with the node's machine holds this key (its passphrase "
                    "is demo), so its signature proves nothing about who resealed an account. "
                    "Accounts opened through it are marked; its audit entries are reported "
                    "apart and never count as a trusted reviewer's. What an account says is "
                    "still checked against the node's signature. To drop it later (what it "
                    "resealed for you then stops opening): attest keys untrust-reviewer "
                    "{fingerprint}"
                ).format(fingerprint=key.fingerprint),
                fg="yellow",
                bold=True,
            ),
            err=True,
        )
        return
    click.echo(
        _("Trusted reviewer {fingerprint} ({name}).").format(
            fingerprint=key.fingerprint, name=key.name or "-"
        )
    )
    click.echo(
        _(
            "Check this whole fingerprint with that reviewer in person or on a call: "
            "whoever gave you the file could have made it."
        )
    )


@click.command(
    "untrust-reviewer",
    help=_(
        "Stop trusting the reviewer key FINGERPRINT (or a demo key pinned for recovery): "
        "its reseals no longer open accounts for you."
    ),
)
@click.argument("fingerprint")
def untrust_reviewer_command(fingerprint: str) -> None:
    try:
        dropped = ReviewerPins(reviewer_pins_path_from_env()).unpin(fingerprint)
    except StorageError as exc:
        raise _fail(exc) from None
    click.echo(
        _(
            "No longer trusted: reviewer key {fingerprint}. Accounts it resealed for you no "
            "longer open, and its audit entries are reported as signed by a key you have not "
            "pinned."
        ).format(fingerprint=dropped)
    )


@click.command(
    "rotate-node",
    help=_(
        "Give this node a new signing key, certified by the old one, so reviewers' pins "
        "carry over. The master key and the pseudonym secret stay."
    ),
)
def rotate_node_command() -> None:
    from bot.node_key import node_passphrase
    from bot.settings import SettingsError, ensure_data_dir, load_settings
    from storage.crypto import NodeKeys
    from storage.intake.keyring import node_key_path

    try:
        data_dir = ensure_data_dir(load_settings())
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    path = node_key_path(data_dir)
    passphrase = node_passphrase()
    try:
        protected = NodeKeys.is_protected(path)
        old = NodeKeys.load(path, passphrase)
        new = old.rotated(datetime.now(UTC).isoformat(timespec="seconds"))
        new.save_replacing(path, passphrase if protected else None)
    except CryptoError as exc:
        raise _fail(exc) from None
    click.echo(
        _("New node signing key {new} (certified by the old key {old}).").format(
            new=new.fingerprint, old=old.fingerprint
        )
    )
    click.echo(
        _(
            "Restart every process of this node, then run 'attest sync': it carries the "
            "certificate to the queue, and reviewers who pinned the old key trust the new one."
        )
    )


@click.command(
    "untrust-node",
    help=_(
        "Stop trusting the node key FINGERPRINT: refuse all its accounts, or with --after "
        "only those the queue received after TIME (earlier ones are shown marked)."
    ),
)
@click.argument("fingerprint")
@click.option(
    "--after",
    "after",
    default=None,
    help=_("A time such as 2026-12-01T09:00 (UTC unless it says otherwise)."),
)
def untrust_node_command(fingerprint: str, after: str | None) -> None:
    from storage.queue.node_pins import NodePins, full_fingerprint, pins_path_from_env

    cutoff = None
    if after is not None:
        try:
            cutoff = datetime.fromisoformat(after.strip())
        except ValueError:
            raise click.ClickException(
                _("That is not a time. Write it like 2026-12-01T09:00 (UTC).")
            ) from None
        if cutoff.tzinfo is None:
            cutoff = cutoff.replace(tzinfo=UTC)
    try:
        wanted = full_fingerprint(fingerprint)
        NodePins(pins_path_from_env()).untrust(wanted, cutoff)
    except StorageError as exc:
        raise _fail(exc) from None
    if cutoff is None:
        click.echo(
            _("Node key {fingerprint} is no longer trusted: none of its accounts open.").format(
                fingerprint=wanted
            )
        )
    else:
        click.echo(
            _(
                "Node key {fingerprint} is untrusted for accounts the queue received after "
                "{time}; earlier ones open and are shown marked."
            ).format(fingerprint=wanted, time=cutoff.isoformat(timespec="seconds"))
        )
