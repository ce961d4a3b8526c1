"""Where `--out` may write: an existing folder, and a file there only with `--force`.

A missing folder is refused, never created: a USB stick that is not mounted leaves its
mount point an ordinary folder on the internal disk (or no folder at all), and survivor
data written there stays behind on the machine. An existing file is replaced only when
asked (`--force`), so a decrypted voice note never silently takes an export's place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def N_(message: str) -> str:
    """Mark a text for extraction; the caller translates it."""
    return message


MISSING_FOLDER = N_(
    "The folder {folder} does not exist, so nothing was written. Check the path (is the "
    "USB drive plugged in and mounted?); Attest does not create folders for --out."
)
EXISTS = N_(
    "{path} already exists, so nothing was written. Choose another name, or add --force "
    "to replace it."
)


def refuse_unsafe_out(out: Path, force: bool, gettext: Callable[[str], str]) -> None:
    """ClickException unless `out` is in an existing folder and new (or `force`).

    `out` being a folder itself is left to the write, which says so (review.cli._writing).
    """
    folder = out.parent
    if not out.is_dir() and not folder.is_dir():
        raise click.ClickException(gettext(MISSING_FOLDER).format(folder=folder))
    if not force and not out.is_dir() and (out.exists() or out.is_symlink()):
        raise click.ClickException(gettext(EXISTS).format(path=out))


def force_option(help_text: str) -> Callable[[Any], Any]:
    return click.option("--force", is_flag=True, help=help_text)


__all__ = ["force_option", "refuse_unsafe_out"]
