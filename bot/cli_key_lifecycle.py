"""`attest keys upgrade` and `attest keys trust-reviewer`: reviewer keys that can sign.

    attest keys upgrade --key FILE [--name NAME]   a version 1 reviewer.key (and the
                                                   reviewer.pub beside it) gain an
                                                   Ed25519 signing key; same passphrase
    attest keys trust-reviewer FILE                pin a reviewer's reviewer.pub: their
                                                   reseals and audit entries are trusted

The passphrase is read from ATTEST_REVIEWER_PASSPHRASE or asked without echo.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from flows.i18n import translator
from storage.crypto import CryptoError, ReviewerPrivateKey, ReviewerPublicKey
from storage.errors import KeyFileMissing, StorageError
from storage.intake.keyring import PUBLIC_FILE
from storage.queue.reviewer_pins import ReviewerPins, reviewer_pins_path_from_env

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
    except CryptoError as exc:
        raise _fail(exc) from None
    click.echo(
        _("Upgraded reviewer key {fingerprint}: it can now sign. Public key: {path}").format(
            fingerprint=upgraded.fingerprint, path=key_file.parent / PUBLIC_FILE
        )
    )
    click.echo(
        _(
            "Give the new reviewer.pub to the other reviewers ('attest keys trust-reviewer "
            "FILE') and to the node. Backups of the old reviewer.key still open the same "
            "accounts, but cannot sign."
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
def trust_reviewer_command(file: Path) -> None:
    try:
        key = ReviewerPublicKey.load(file)
        ReviewerPins(reviewer_pins_path_from_env()).pin(key)
    except StorageError as exc:
        raise _fail(exc) from None
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
