"""A count that moves on one line while long work runs, on a terminal only.

`attest sync`, `queue import` and `review export` report how far they are on standard
error, redrawn in place (`\\r`); when standard error is not a terminal (a log file, a
pipe, cron) nothing is written, so logs hold only the result lines.
"""

from __future__ import annotations

import sys

import click


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


class Progress:
    """`update(text)` redraws the line; `done()` ends it. Silent off a terminal."""

    def __init__(self) -> None:
        self.shown = stderr_is_terminal()
        self._width = 0

    def update(self, text: str) -> None:
        if not self.shown:
            return
        # Pad over a longer line drawn before, then return to the line's start.
        click.echo("\r" + text.ljust(self._width), nl=False, err=True)
        self._width = max(self._width, len(text))

    def done(self) -> None:
        if self.shown and self._width:
            click.echo("", err=True)
            self._width = 0


__all__ = ["Progress", "stderr_is_terminal"]
