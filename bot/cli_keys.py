"""`attest keys`: the node's signing key, and the reviewer keys accounts are sealed to.

    attest keys node                      public signing key and fingerprint (reviewers pin it)
    attest keys protect-node              wrap node.key with a passphrase (Argon2id)
    attest keys init-reviewer --out DIR   a new reviewer key pair (run on the reviewer's computer)
    attest keys add-reviewer FILE         seal future accounts to this reviewer.pub too
    attest keys remove-reviewer FPR       stop sealing to a key in the data directory
    attest keys list                      fingerprint, suite, source, demo or not
    attest keys upgrade --key FILE        a version 1 reviewer key gains a signing key
    attest keys trust-reviewer FILE       trust a reviewer's signatures (reseals, audit)
    attest keys new-triage-key            replace the triage key (claims, tags, status)
    attest keys rotate-node               a new node signing key, certified by the old one
    attest keys untrust-node FP [--after TIME]   refuse a node key's (later) accounts

The passphrase of a new reviewer key is asked twice without echo, or read from
ATTEST_REVIEWER_PASSPHRASE for automation. Texts go through gettext in the language named
by ATTEST_LANGUAGE (English by default).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import click

from bot.node_key import PASSPHRASE_ENV as NODE_PASSPHRASE_ENV
from bot.node_key import load_node_keys
from bot.settings import SettingsError, ensure_data_dir, load_settings
from flows.i18n import translator
from storage.crypto import SUITES, NodeKeys, ReviewerPrivateKey, generate_reviewer_key
from storage.errors import CryptoError, KeyFileMissing
from storage.intake.keyring import (
    ENV_KEYS,
    PRIVATE_FILE,
    PUBLIC_FILE,
    SINGLE_KEY_WARNING,
    UNOPENABLE_HELP,
    UNOPENABLE_WAITING,
    add_reviewer,
    list_reviewer_keys,
    node_key_path,
    real_keys_in_use,
    remove_reviewer,
)

PASSPHRASE_ENV = "ATTEST_REVIEWER_PASSPHRASE"
MIN_PASSPHRASE_CHARS = 8


def _(message: str) -> str:
    return translator(os.environ.get("ATTEST_LANGUAGE", "en")).gettext(message)


def _data_dir() -> Path:
    try:
        return ensure_data_dir(load_settings())
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _fail(error: CryptoError) -> click.ClickException:
    if isinstance(error, KeyFileMissing):
        return click.ClickException(_("There is no key file at {path}.").format(path=error.path))
    return click.ClickException(_(str(error)))


def _unopenable_waiting(in_use: list[str]) -> int:
    """Accounts in the outbox no key in `in_use` opens (0 when there is no store to read)."""
    from storage.db import create_store_engine
    from storage.intake.outbox import sealed_only_to_others

    settings = load_settings()
    path = settings.intake_path
    if settings.database_url is None and not path.exists():
        return 0  # never create the store just to look
    engine = create_store_engine(settings.database_url or path)
    try:
        return sealed_only_to_others(engine, in_use) or 0
    finally:
        engine.dispose()


@click.group(help=_("Node keys and reviewer keys."))
def keys() -> None:
    pass


@keys.command("node", help=_("Show this node's public signing key and fingerprint."))
def node_command() -> None:
    data_dir = _data_dir()
    try:
        node = load_node_keys(data_dir, create=True)
    except CryptoError as exc:
        raise _fail(exc) from None
    click.echo(
        _("Node public signing key (Ed25519, base64): {key}").format(
            key=base64.b64encode(node.public_key_bytes).decode("ascii")
        )
    )
    click.echo(_("Node fingerprint: {fingerprint}").format(fingerprint=node.fingerprint))
    click.echo(
        _("Reviewers pin this fingerprint: accounts signed by any other node key are refused.")
    )


@keys.command(
    "protect-node",
    help=_(
        "Protect the node key with a passphrase (Argon2id). The node then starts only "
        "with ATTEST_NODE_PASSPHRASE or the systemd credential 'attest-node-passphrase'."
    ),
)
def protect_node_command() -> None:
    data_dir = _data_dir()
    path = node_key_path(data_dir)
    try:
        if NodeKeys.is_protected(path):
            raise click.ClickException(
                _("The node key at {path} is already protected.").format(path=path)
            )
        node = NodeKeys.load(path)
    except CryptoError as exc:
        raise _fail(exc) from None
    passphrase = _new_passphrase(NODE_PASSPHRASE_ENV, _("Passphrase for the node key"))
    try:
        node.protect(path, passphrase)
    except CryptoError as exc:
        raise _fail(exc) from None
    click.echo(
        _("The node key at {path} is now protected (fingerprint {fingerprint}).").format(
            path=path, fingerprint=node.fingerprint
        )
    )
    click.echo(
        _(
            "Every start now needs the passphrase: set ATTEST_NODE_PASSPHRASE, or give it "
            "as the systemd credential 'attest-node-passphrase'. Keep the passphrase off "
            "this machine's disk, or encrypted (systemd-creds): a copy of the unprotected "
            "file made before now (a backup, a snapshot) still gives up the keys."
        )
    )


def _new_passphrase(variable: str = PASSPHRASE_ENV, prompt: str | None = None) -> str:
    from_env = os.environ.get(variable)
    if from_env is not None:
        _check_length(from_env)
        return from_env
    while True:
        # Checked before it is asked again: typing a too-short one twice is wasted effort.
        passphrase: str = click.prompt(
            prompt or _("Passphrase for the new reviewer key"), hide_input=True, err=True
        )
        _check_length(passphrase)
        again: str = click.prompt(_("Type the passphrase again"), hide_input=True, err=True)
        if again == passphrase:
            return passphrase
        click.echo(_("The two passphrases do not match. Please type them again."), err=True)


def _check_length(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise click.ClickException(
            _(
                "The passphrase must be at least {n} characters. "
                "A few unrelated words make a strong one that is easy to remember."
            ).format(n=MIN_PASSPHRASE_CHARS)
        )


@keys.command(
    "init-reviewer",
    help=_(
        "Create a reviewer key pair in DIR (reviewer.key, passphrase-protected, and "
        "reviewer.pub). Run this on the reviewer's own computer."
    ),
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help=_("Folder to write reviewer.key and reviewer.pub into."),
)
@click.option(
    "--suite",
    type=click.Choice(SUITES),
    default="hybrid",
    show_default=True,
    help=_("hybrid = post-quantum ML-KEM-768 + X25519; x25519 = classic only."),
)
@click.option(
    "--name",
    default="",
    help=_("A display name for this key (shown beside its fingerprint in the audit log)."),
)
def init_reviewer(out_dir: Path, suite: str, name: str) -> None:
    from storage.crypto.triage import issue_triage_key, triage_key_path

    private_path, public_path = out_dir / PRIVATE_FILE, out_dir / PUBLIC_FILE
    triage_path = triage_key_path(private_path)
    for existing in (private_path, public_path, triage_path):
        if existing.exists():
            raise click.ClickException(
                _(
                    "{path} already exists. Choose another folder: a key is never overwritten."
                ).format(path=existing)
            )
    passphrase = _new_passphrase()
    key: ReviewerPrivateKey = generate_reviewer_key(suite, name=name)
    try:
        key.save(private_path, passphrase)
    except FileExistsError:
        raise click.ClickException(
            _("{path} already exists. Choose another folder: a key is never overwritten.").format(
                path=private_path
            )
        ) from None
    key.public.save(public_path)
    issue_triage_key(key).save(triage_path)
    click.echo(_("Private key (keep it and its passphrase safe): {path}").format(path=private_path))
    click.echo(
        _(
            "Triage key (signs claims, releases, tags and status without a passphrase): {path}"
        ).format(path=triage_path)
    )
    click.echo(_("Public key (give this to the node): {path}").format(path=public_path))
    click.echo(_("Fingerprint: {fingerprint}").format(fingerprint=key.fingerprint))
    click.echo(
        _(
            "Without both the private key and its passphrase, accounts sealed to this key "
            "cannot be opened by anyone. Keep a backup somewhere safe."
        )
    )


@keys.command("add-reviewer", help=_("Seal future accounts to the reviewer public key in FILE."))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def add_reviewer_command(file: Path) -> None:
    data_dir = _data_dir()
    try:
        key = add_reviewer(data_dir, file)
    except CryptoError as exc:
        raise _fail(exc) from None
    click.echo(
        _("Added reviewer key {fingerprint} ({suite}). New accounts are sealed to it.").format(
            fingerprint=key.fingerprint, suite=key.suite
        )
    )


@keys.command(
    "remove-reviewer",
    help=_(
        "Stop sealing new accounts to the reviewer key FINGERPRINT (or its first 8+ characters)."
    ),
)
@click.argument("fingerprint")
def remove_reviewer_command(fingerprint: str) -> None:
    data_dir = _data_dir()
    try:
        key = remove_reviewer(data_dir, fingerprint)
        entries = list_reviewer_keys(data_dir, os.environ)
    except CryptoError as exc:
        raise _fail(exc) from None
    if key is None:
        from_env = [e for e in entries if e.source == "environment"]
        if any(e.key.fingerprint.startswith(fingerprint.strip().lower()) for e in from_env):
            raise click.ClickException(
                _("That key comes from {variable}; remove it from there.").format(variable=ENV_KEYS)
            )
        raise click.ClickException(
            _(
                "No reviewer key in the data directory matches that fingerprint uniquely. "
                "See 'attest keys list'."
            )
        )
    click.echo(
        _(
            "Removed reviewer key {fingerprint}. New accounts are no longer sealed to it. "
            "Accounts already sealed to it are unchanged: that key still opens them, and "
            "nothing here can take that back (a sealed account cannot be changed without "
            "breaking the node's signature). If the key was lost or stolen, reseal what it "
            "could open to a new key ('attest review reseal --to FILE', run by a reviewer "
            "who can open them)."
        ).format(fingerprint=key.fingerprint)
    )


@keys.command("list", help=_("List the reviewer keys and whether accounts are sealed to them."))
def list_command() -> None:
    data_dir = _data_dir()
    try:
        entries = list_reviewer_keys(data_dir, os.environ)
    except CryptoError as exc:
        raise _fail(exc) from None
    if not entries:
        click.echo(_("No reviewer keys yet. Add one with 'attest keys add-reviewer FILE'."))
        return
    sources = {
        "data-dir": _("data directory"),
        "environment": ENV_KEYS,
        "demo": _("demo (first run)"),
    }
    if len(real_keys_in_use(entries)) == 1:
        click.echo(_(SINGLE_KEY_WARNING), err=True)
    unopenable = _unopenable_waiting([e.key.fingerprint for e in entries if e.in_use])
    if unopenable:
        click.echo(_(UNOPENABLE_WAITING).format(count=unopenable), err=True)
        click.echo(_(UNOPENABLE_HELP), err=True)
    for entry in entries:
        flags = []
        if entry.key.demo:
            flags.append(_("DEMO - for trying Attest only"))
        if not entry.in_use:
            flags.append(_("not sealed to"))
        click.echo(
            "  ".join([entry.key.fingerprint, entry.key.suite, sources[entry.source], *flags])
        )


# `attest keys trust-node` lives with the queue commands (it may look a fingerprint up
# in the queue); registered here so it sits beside the other key commands.
from bot.cli_queue import trust_node  # noqa: E402

keys.add_command(trust_node)

# Upgrading reviewer keys and pinning reviewers (issue 15) live in their own module.
from bot.cli_key_lifecycle import (  # noqa: E402
    new_triage_key_command,
    rotate_node_command,
    trust_reviewer_command,
    untrust_node_command,
    untrust_reviewer_command,
    upgrade_command,
)

keys.add_command(upgrade_command)
keys.add_command(new_triage_key_command)
keys.add_command(trust_reviewer_command)
keys.add_command(untrust_reviewer_command)
keys.add_command(rotate_node_command)
keys.add_command(untrust_node_command)
