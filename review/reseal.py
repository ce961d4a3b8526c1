"""`attest review reseal --to FILE`: let a new reviewer key open the accounts you can open.

For every account in the queue that this reviewer can open (pinned node, valid
signature, sealed or resealed to this key), the content key is wrapped for the new key
and signed by this reviewer (`storage.crypto.reseal`). The account itself, and the
node's signature over its original recipients, are not touched. What it is for: a
second reviewer joining, or a replacement key before an old one is retired. What it
cannot do: reach accounts this key cannot open, or take access away from a key.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from flows.i18n import translator
from review.context import ReviewerContext, fail
from review.opened import reseals_for_key
from storage.crypto import CryptoError
from storage.errors import CannotSign, StorageError

pass_reviewer = click.make_pass_decorator(ReviewerContext)


def _(message: str) -> str:
    return translator(os.environ.get("ATTEST_REVIEWER_LANGUAGE", "en")).gettext(message)


@click.command(
    "reseal",
    help=_(
        "Let another reviewer key open every account your key opens: wrap each account's "
        "key for the reviewer.pub in FILE, signed by you."
    ),
)
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("The new reviewer's public key file (reviewer.pub)."),
)
@pass_reviewer
def reseal_command(ctx: ReviewerContext, to: Path) -> None:
    with fail(ctx):
        from storage.crypto import ReviewerPublicKey, open_content_key, reseal_account
        from storage.queue.reseals import resealed_ids, store_reseals

        new_key = ReviewerPublicKey.load(to)
        if new_key.demo:
            raise click.ClickException(
                _("This is a demo reviewer key; accounts are never resealed to it.")
            )
        if not ctx.key.can_sign:
            raise CannotSign()
        queue = ctx.queue
        done = resealed_ids(queue, new_key.fingerprint)
        made = []
        unopened = 0
        for item in queue.list_accounts(limit=None):
            if item.account_id in done:
                continue
            try:
                stored = queue.get(item.account_id)
                if new_key.fingerprint in stored.sealed.recipients:
                    continue  # the node sealed to it already
                content_key = open_content_key(
                    stored.sealed,
                    ctx.key,
                    ctx.pins,
                    reseals_for_key(queue, stored, ctx.key),
                    ctx.reseal_signers,
                )
                made.append(reseal_account(stored.sealed, content_key, new_key, ctx.key))
            except (CryptoError, StorageError):
                # Not for this key, from an unpinned node, damaged, or withdrawn meanwhile:
                # nothing to reseal, and nothing about it is shown.
                unopened += 1
        added = store_reseals(queue, made)
        ctx.witness_advance()
    click.echo(
        _("Resealed {n} account(s) for reviewer key {fingerprint}.").format(
            n=added, fingerprint=new_key.fingerprint
        )
    )
    if unopened:
        click.echo(
            _(
                "{n} account(s) could not be opened with your key (not sealed to it, from a "
                "node you have not pinned, or failing verification); they were not resealed. "
                "A reviewer who can open them must reseal those."
            ).format(n=unopened),
            err=True,
        )
