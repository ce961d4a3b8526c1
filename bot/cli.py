"""`attest`: one command with subcommands. `attest --help` lists them.

Subcommands are imported lazily (click's documented LazyGroup pattern), so that
`attest console` never loads Telegram or the reviewer tools, and a slow import in one
corner does not slow the others.
"""

from __future__ import annotations

import getpass
import importlib
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

import click

SUBCOMMANDS = {
    "console": ("bot.cli", "console", "Run an interview in this terminal."),
    "run": ("bot.cli_run", "run", "Run the Telegram bot (token from ATTEST_TELEGRAM_TOKEN)."),
    "flows": ("bot.cli", "flows", "Check flow definitions or draw one as a diagram."),
    "keys": ("bot.cli_keys", "keys", "Node keys and reviewer keys."),
    "sync": ("bot.cli_queue", "sync", "Move sealed accounts from this node to the queue."),
    "queue": ("bot.cli_queue", "queue", "Create, migrate or import a reviewer queue."),
    "review": ("review.cli", "review", "Reviewer commands: list, claim, show, triage, export."),
    "desk": ("review.desk.cli", "desk", "The reviewer desk: a local web page for the queue."),
    "documenters": (
        "bot.cli_documenters",
        "documenters",
        "Invite documenters, list them, revoke one.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in SUBCOMMANDS:
            return None
        module_name, attribute, _ = SUBCOMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise click.ClickException(f"{module_name}.{attribute} is not a command")
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """`attest --help` is written here, before any subcommand runs."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            _quiet_stdout()
            raise click.exceptions.Exit(CLOSED_PIPE) from None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; Ctrl-C and any error nobody expected end in one line, never a traceback."""
        try:
            result = super().invoke(ctx)
        except (KeyboardInterrupt, click.exceptions.Abort) as stop:
            # click.prompt turns both Ctrl-C and the end of input (Ctrl-D, an empty pipe)
            # into Abort ("Aborted!", status 1), raised while handling the EOFError or
            # KeyboardInterrupt. Every prompt asks a passphrase: the end of input there
            # means none was given (status 1); Ctrl-C is the same line everywhere and the
            # shell's status for an interrupted command.
            if isinstance(stop.__context__, EOFError):
                click.echo(_said(ctx, NO_PASSPHRASE), err=True)
                ctx.exit(1)
            click.echo(_said(ctx, INTERRUPTED), err=True)
            ctx.exit(130)
        except (click.exceptions.ClickException, click.exceptions.Exit):
            raise
        except BrokenPipeError:
            _closed_pipe(ctx)
        except Exception as error:
            raise click.ClickException(_unexpected(ctx, error)) from None
        try:
            # Output still buffered (a pager-less listing into a pipe) meets a closed pipe
            # here rather than at exit, where Python would print a traceback.
            sys.stdout.flush()
        except BrokenPipeError:
            _closed_pipe(ctx)
        return result

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][2]) for name in sorted(SUBCOMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def N_(message: str) -> str:
    return message


CLOSED_PIPE = 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1


def _closed_pipe(ctx: click.Context) -> NoReturn:
    """The reader of our output went away (`attest review list | head -1`): stop quietly.

    Python's recommended way (docs.python.org/3/library/signal.html#note-on-sigpipe):
    point stdout at devnull, so the flush at exit fails no more, and end with the status
    a Unix tool killed by SIGPIPE has in the shell (141), as `head`'s writer would.
    """
    _quiet_stdout()
    ctx.exit(CLOSED_PIPE)


def _quiet_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


INTERRUPTED = N_("Stopped.")
NO_PASSPHRASE = N_("No passphrase given.")
UNEXPECTED = N_(
    "Attest stopped on an unexpected error ({kind}). Nothing more is shown, since details "
    "could hold account data; please report the command you ran and this line."
)


def _said(ctx: click.Context, message: str) -> str:
    """`message` in the language of the command: reviewers' own, or the node's."""
    from flows.i18n import translator

    reviewing = ctx.invoked_subcommand == "review"
    variable = "ATTEST_REVIEWER_LANGUAGE" if reviewing else "ATTEST_LANGUAGE"
    return translator(os.environ.get(variable, "en")).gettext(message)


def _unexpected(ctx: click.Context, error: Exception) -> str:
    """A database error named (storage.queue.reach), anything else by its class alone."""
    from storage.queue.reach import explain

    explained = explain(error)
    if explained is not None:
        return str(explained.translated(lambda m: _said(ctx, m)))
    return _said(ctx, UNEXPECTED).format(kind=type(error).__name__)


@click.group(cls=LazyGroup)
@click.version_option(package_name="attest")
def main() -> None:
    """Attest: consent-first documentation of gender persecution.

    Settings come from ATTEST_* environment variables (see README). Everything the node
    writes lives under ATTEST_DATA_DIR (default ./attest-data).
    """


def settings_or_exit() -> Any:
    # Here, not at the top: `attest --help` and `review list` need neither (start-up).
    from bot.logs import configure_logging
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    configure_logging(settings.log_level)
    return settings


@click.command()
@click.option("--flow", default=None, help="Flow to run (default: survivor).")
@click.option("--jsonl", is_flag=True, help="One answer per line in, one JSON event per line out.")
@click.option(
    "--respondent",
    default=None,
    help="Which local person this is (default: the system user).",
)
@click.option(
    "--documenter",
    "documenter_code",
    default=None,
    metavar="CODE",
    help="Record accounts as a documenter: binds this invite code to this console person "
    "once (afterwards no code is needed).",
)
def console(
    flow: str | None, jsonl: bool, respondent: str | None, documenter_code: str | None
) -> None:
    """Run an interview in this terminal (the same flows as on Telegram)."""
    import asyncio

    from bot.config import ConfigError
    from bot.console import run_console
    from bot.node import NodeError, open_node
    from flows.i18n import translator
    from flows.loader import FlowError

    settings = settings_or_exit()

    async def go() -> None:
        # asyncio.run turns a first Ctrl-C into a cancellation that lands only at the next
        # await, but the console waits in a blocking readline: the person's Ctrl-C would do
        # nothing, and the line typed next would be dropped. A plain KeyboardInterrupt
        # stops at once; every acknowledged answer is already committed.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            node = await open_node(settings)
        except (ConfigError, NodeError, FlowError) as exc:
            raise click.ClickException(str(exc)) from None
        except Exception as exc:  # the database: damaged, unreadable or unreachable
            message = translator("en").gettext(
                "Cannot open the database. Check ATTEST_DATABASE_URL (or the data "
                "directory) and that the database server is running."
            )
            raise click.ClickException(f"{message} ({type(exc).__name__})") from None
        try:
            if flow is not None and flow not in node.engines:
                names = ", ".join(sorted(node.engines))
                raise click.ClickException(f"No flow named {flow!r}. Flows here: {names}.")
            await run_console(
                node.dispatcher,
                respondent_name=respondent or getpass.getuser(),
                flow=flow,
                jsonl=jsonl,
                documenter_code=documenter_code,
            )
        finally:
            await node.close()

    # Ctrl-C leaves the unfinished answers encrypted, like a pause; it reaches the group,
    # which says so in one line and exits 130 (LazyGroup.invoke).
    asyncio.run(go())


@click.group()
def flows() -> None:
    """Check flow definitions or draw one as a diagram."""


@flows.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def flows_check(paths: tuple[Path, ...]) -> None:
    """Validate every flow (or the files given); exits non-zero on the first broken one."""
    from flows.loader import FlowError, load_flow, load_flows

    try:
        loaded = {p.stem: load_flow(p) for p in paths} if paths else load_flows()
    except FlowError as exc:
        raise click.ClickException(str(exc)) from None
    for name, flow in sorted(loaded.items()):
        click.echo(f"ok  {name} (version {flow.version}, {len(flow.steps)} steps)")
    if len({f.mode for f in loaded.values()}) > 1:
        from flows.shared import shared_list_mismatches

        problems = shared_list_mismatches(loaded)
        if problems:
            raise click.ClickException(
                "The flows must share the option ids of these lists: " + "; ".join(problems)
            )
        click.echo("ok  shared option lists")
    from flows.elements import element_map_problems

    element_problems = element_map_problems(loaded)
    if element_problems:
        raise click.ClickException(
            "The option-level element map is incomplete: " + "; ".join(element_problems)
        )
    click.echo("ok  element map (options → E1…E8)")


@flows.command("diagram")
@click.argument("name")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write to a file.")
@click.option("--force", is_flag=True, help="Replace the file at --out if there is one.")
def flows_diagram(name: str, out: Path | None, force: bool) -> None:
    """Write a Mermaid state diagram of flow NAME."""
    from flows.diagram import mermaid
    from flows.loader import FlowError, load_flows

    try:
        loaded = load_flows()
    except FlowError as exc:
        raise click.ClickException(str(exc)) from None
    if name not in loaded:
        raise click.ClickException(f"No flow named {name!r}. Flows: {', '.join(sorted(loaded))}.")
    text = mermaid(loaded[name])
    if out is not None and not out.parent.is_dir():
        raise click.ClickException(f"The folder {out.parent} does not exist; nothing was written.")
    if out is not None and out.exists() and not force:
        raise click.ClickException(f"{out} already exists; add --force to replace it.")
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}")


if __name__ == "__main__":
    main()
