"""`attest desk`: serve the reviewer desk on this machine and open it in the browser.

    attest desk [--port 8731] [--no-browser] [--lock-after MINUTES]

It listens on 127.0.0.1 only. Another address (`--host`) would let other machines reach
a page that decrypts accounts, so it is refused unless `--force-host` is given too, and
then warned about. The reviewer key, queue and pinned nodes are those of `attest review`
(ATTEST_REVIEWER_KEY, ATTEST_QUEUE_URL, ATTEST_TRUSTED_NODES).
"""

from __future__ import annotations

import os
import threading
import webbrowser

import click

from flows.i18n import translator
from review.desk.lock import DEFAULT_IDLE_MINUTES

DEFAULT_PORT = 8731
LOOPBACK = ("127.0.0.1", "localhost")


def _(message: str) -> str:
    return translator(os.environ.get("ATTEST_REVIEWER_LANGUAGE", "en")).gettext(message)


@click.command("desk", help=_("Serve the reviewer desk on this computer and open it."))
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help=_("Address to listen on."))
@click.option(
    "--force-host",
    is_flag=True,
    help=_("Listen on an address other than 127.0.0.1 (other machines could reach it)."),
)
@click.option("--no-browser", is_flag=True, help=_("Do not open the browser."))
@click.option(
    "--lock-after",
    type=click.FloatRange(min=0.05),
    default=lambda: float(os.environ.get("ATTEST_DESK_LOCK_MINUTES", DEFAULT_IDLE_MINUTES)),
    show_default=str(DEFAULT_IDLE_MINUTES),
    help=_("Lock the desk after this many minutes without use (ATTEST_DESK_LOCK_MINUTES)."),
)
def desk(port: int, host: str, force_host: bool, no_browser: bool, lock_after: float) -> None:
    if host not in LOOPBACK and not force_host:
        raise click.UsageError(
            _(
                "The desk decrypts accounts, so it listens on 127.0.0.1 only. To listen on "
                "{host} anyway, add --force-host."
            ).format(host=host)
        )
    if host not in LOOPBACK:
        click.echo(
            _(
                "WARNING: the desk listens on {host}: anyone who can reach this address can "
                "try to unlock it. Prefer 127.0.0.1."
            ).format(host=host),
            err=True,
        )
    import uvicorn

    from review.desk.app import Desk, asgi

    served = Desk(dict(os.environ), port=port, host=host, idle_seconds=lock_after * 60)
    address = f"http://{host}:{port}/"
    click.echo(_("The reviewer desk is at {address} (Ctrl+C stops it).").format(address=address))
    if not no_browser:
        threading.Timer(0.8, webbrowser.open, args=(address,)).start()
    uvicorn.run(
        asgi(served),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # request lines would carry account ids
        server_header=False,
    )
