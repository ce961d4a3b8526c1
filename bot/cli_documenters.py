"""`attest documenters`: invite community documenters, list them, revoke one.

    attest documenters invite [--note TEXT] [--expires DAYS]   # prints a code (shown once)
    attest documenters list
    attest documenters revoke ID

Invites belong to the node that issues them (a field-kit laptop is a node and issues its
own): the code is checked against this node's intake store, which keeps only its hash.
The note is for whoever runs the node; it is encrypted and never leaves it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.settings import SettingsError, ensure_data_dir, load_settings
from flows.i18n import translator
from storage.crypto import NodeKeys
from storage.errors import StorageError
from storage.intake.documenters import DEFAULT_EXPIRY_DAYS, UnknownDocumenter, deep_link
from storage.intake.keyring import load_reviewer_keys, node_key_path
from storage.intake.store import open_intake_store

T = TypeVar("T")
# Written by `attest run` from Telegram's getMe, so that invites can carry a deep link.
BOT_USERNAME_FILE = "telegram-username"
MAX_NOTE_CHARS = 200


def _(message: str) -> str:
    return translator(os.environ.get("ATTEST_LANGUAGE", "en")).gettext(message)


def remember_bot_username(data_dir: Path, username: str | None) -> None:
    """Keep the bot's username (public: it is the bot's address) for deep links."""
    if username:
        (data_dir / BOT_USERNAME_FILE).write_text(username + "\n", encoding="utf-8")


def bot_username(data_dir: Path) -> str | None:
    try:
        name = (data_dir / BOT_USERNAME_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name if name.replace("_", "").isalnum() else None


def _with_store(action: Callable[[Any], Awaitable[T]]) -> T:
    """Run `action(store)` on this node's intake store."""
    try:
        settings = load_settings()
        data_dir = ensure_data_dir(settings)
        keys = NodeKeys.load_or_create(node_key_path(data_dir, os.environ))
        reviewers = load_reviewer_keys(data_dir, os.environ)
    except (SettingsError, StorageError, OSError) as exc:
        raise click.ClickException(str(exc)) from None

    async def go() -> T:
        store = await open_intake_store(
            settings.database_url or settings.intake_path,
            keys,
            reviewers,
            data_dir=data_dir,
            expire=False,
        )
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(go())


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "-"


@click.group(help=_("Invite documenters, list them, revoke one."))
def documenters() -> None:
    pass


@documenters.command("invite")
@click.option("--note", default="", help=_("Who it is for (kept on this node only, encrypted)."))
@click.option(
    "--expires",
    "days",
    type=click.IntRange(1, 365),
    default=DEFAULT_EXPIRY_DAYS,
    show_default=True,
    help=_("Days until an unused code stops working."),
)
def invite(note: str, days: int) -> None:
    """Issue a single-use invite code (shown once: only its hash is kept)."""
    if len(note) > MAX_NOTE_CHARS:
        raise click.ClickException(_("The note is too long (at most 200 characters)."))
    now = datetime.now(UTC)
    code, pseudonym = _with_store(
        lambda store: store.issue_invite(note=note.strip(), days=days, now=now)
    )
    click.echo(_("Invite code (works once, for {days} days): {code}").format(days=days, code=code))
    click.echo(_("Documenter: {pseudonym}").format(pseudonym=pseudonym))
    username = bot_username(ensure_data_dir(load_settings()))
    if username:
        click.echo(_("Telegram link: {link}").format(link=deep_link(username, code)))
    click.echo(
        _(
            "In Telegram: /documenter {code}. At a terminal: attest console --documenter {code}. "
            "Give it in person or over a safe channel; it is not shown again."
        ).format(code=code)
    )


@documenters.command("list")
def list_command() -> None:
    """Every invite of this node: pseudonym, note, created, used, accounts, revoked."""
    found = _with_store(lambda store: store.list_documenters())
    if not found:
        click.echo(_("No invites yet. Create one with: attest documenters invite"))
        return
    header = (
        _("documenter"),
        _("created"),
        _("expires"),
        _("used"),
        _("accounts"),
        _("revoked"),
        _("note"),
    )
    click.echo("\t".join(header))
    for d in found:
        row = (
            d.pseudonym,
            _day(d.created_at),
            _day(d.expires_at),
            _day(d.used_at),
            str(d.accounts),
            _day(d.revoked_at),
            d.note,
        )
        click.echo("\t".join(row))


@documenters.command("revoke")
@click.argument("pseudonym")
def revoke(pseudonym: str) -> None:
    """Revoke a documenter (or an unused invite): no more accounts; drafts are deleted."""
    now = datetime.now(UTC)
    try:
        shredded = _with_store(lambda store: store.revoke_documenter(pseudonym.strip(), now))
    except UnknownDocumenter:
        raise click.ClickException(
            _("No documenter {pseudonym} on this node. See: attest documenters list").format(
                pseudonym=pseudonym
            )
        ) from None
    click.echo(_("Revoked {pseudonym}.").format(pseudonym=pseudonym))
    if shredded:
        click.echo(_("Their unfinished account was deleted."))
