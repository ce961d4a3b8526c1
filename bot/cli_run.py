"""`attest run`: the Telegram bot, by long polling (default) or as a webhook endpoint.

    ATTEST_TELEGRAM_TOKEN=... attest run                       # long polling
    ATTEST_WEBHOOK_SECRET=... attest run --set-webhook URL     # once per deployment
    ATTEST_WEBHOOK_SECRET=... attest run --webhook URL --listen 0.0.0.0 --port 8443

The token comes from the environment only, never a flag (flags end up in shell history
and process lists). The Bot API server is trusted with the token and every update, so it
is reached over https unless it is on this machine (loopback) or `--insecure-http` says
otherwise; the paths it hands out for files are read only in local mode, set explicitly
(`--local DIR` or ATTEST_TELEGRAM_LOCAL_DIR: the self-hosted server's `--dir`), and only
inside that directory (bot/telegram/media.py). Registering the webhook is its own step, so that several webhook
processes of one deployment never race to register it. The bot refuses to start, with a
message that says what to do, when the token is missing or malformed, the database cannot
be opened, or the only reviewer key is the demo one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from bot.logs import register_secret
from flows.i18n import translator

TOKEN_SHAPE = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
PUBLIC_API = "https://api.telegram.org"
PUBLIC_FILE_LIMIT_MB = 20


def _(message: str) -> str:
    return translator("en").gettext(message)


@dataclass(frozen=True)
class TelegramSettings:
    """What `attest run` reads from the environment, checked."""

    token: str
    api_url: str
    webhook_secret: str | None
    max_file_bytes: int
    local_dir: Path | None = None  # local mode: the self-hosted server's working directory

    @property
    def base_url(self) -> str:
        return f"{self.api_url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url}/file/bot"


def telegram_settings(
    env: Mapping[str, str],
    api_url: str | None,
    need_secret: bool,
    *,
    local_dir: str | None = None,
    insecure_http: bool = False,
) -> TelegramSettings:
    """Read and check the Telegram settings; click.ClickException says what is wrong."""
    token = env.get("ATTEST_TELEGRAM_TOKEN", "").strip()
    if not token:
        raise click.ClickException(
            _("ATTEST_TELEGRAM_TOKEN is not set. Put the bot token from @BotFather in it.")
        )
    if not TOKEN_SHAPE.match(token):
        raise click.ClickException(
            _(
                "ATTEST_TELEGRAM_TOKEN does not look like a bot token (digits, a colon, "
                "then letters). Copy it again from @BotFather."
            )
        )
    register_secret(token)
    secret = env.get("ATTEST_WEBHOOK_SECRET", "").strip() or None
    if secret is not None:
        register_secret(secret)
    if need_secret and (secret is None or not SECRET_SHAPE.match(secret)):
        raise click.ClickException(
            _(
                "ATTEST_WEBHOOK_SECRET must be set to 16-256 letters, digits, '_' or '-', "
                "the same for every process of this deployment."
            )
        )
    url = (api_url or env.get("ATTEST_TELEGRAM_API_URL") or PUBLIC_API).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise click.ClickException(
            _("ATTEST_TELEGRAM_API_URL must start with http:// or https://.")
        )
    if url.startswith("http://") and not insecure_http and not is_loopback(url):
        raise click.ClickException(
            _(
                "ATTEST_TELEGRAM_API_URL must use https:// unless the Bot API server is on "
                "this machine (127.0.0.1, ::1 or localhost): the bot token and every message "
                "would cross the network in clear. Use https://, or add --insecure-http "
                "if the network between them is private and you accept the risk."
            )
        )
    limit_mb = env.get("ATTEST_TELEGRAM_MAX_FILE_MB", "")
    if limit_mb and not limit_mb.isdigit():
        raise click.ClickException(_("ATTEST_TELEGRAM_MAX_FILE_MB must be a whole number."))
    default_mb = PUBLIC_FILE_LIMIT_MB if url == PUBLIC_API else 200
    max_bytes = int(limit_mb or default_mb) * 1024 * 1024
    if url == PUBLIC_API:
        max_bytes = min(max_bytes, PUBLIC_FILE_LIMIT_MB * 1024 * 1024)
    local = _local_dir(local_dir or env.get("ATTEST_TELEGRAM_LOCAL_DIR") or None, url)
    return TelegramSettings(token, url, secret, max_bytes, local)


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine (a loopback address or `localhost`)."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_dir(value: str | None, url: str) -> Path | None:
    """The self-hosted server's directory for local mode, checked; None: not local mode."""
    if value is None:
        return None
    if url == PUBLIC_API:
        raise click.ClickException(
            _(
                "Local mode (--local or ATTEST_TELEGRAM_LOCAL_DIR) needs a self-hosted Bot API "
                "server: set ATTEST_TELEGRAM_API_URL to it."
            )
        )
    path = Path(value).expanduser()
    # Not "/": the directory bounds what the server may hand out.
    if not path.is_absolute() or not path.is_dir() or path == Path(path.anchor):
        raise click.ClickException(
            _(
                "Local mode needs the Bot API server's working directory (its --dir) as an "
                "absolute path to an existing directory."
            )
        )
    return path


async def _open(settings: Any, telegram: TelegramSettings, flow: str | None) -> tuple[Any, Any]:
    """The node and the channel, or a ClickException that says why not."""
    from bot.config import ConfigError
    from bot.node import NodeError, open_node
    from bot.telegram.channel import ChannelOptions, TelegramChannel
    from bot.telegram.keyboards import ButtonSigner
    from bot.telegram.media import MediaPolicy
    from flows.loader import FlowError

    try:
        node = await open_node(settings, allow_demo=False)
    except (NodeError, ConfigError, FlowError) as exc:  # they say which file and what to fix
        raise click.ClickException(str(exc)) from None
    except click.ClickException:
        raise
    except Exception as exc:  # the database: unreachable, refused, wrong URL
        raise click.ClickException(
            _(
                "Cannot open the database. Check ATTEST_DATABASE_URL (or the data "
                "directory) and that the database server is running."
            )
            + f" ({type(exc).__name__})"
        ) from None
    if flow is not None and flow not in node.engines:
        await node.close()
        raise click.ClickException(_("Unknown flow: ") + flow)
    key = bytes.fromhex(node.keys.pseudonym("attest-telegram-buttons", "v1"))
    media = MediaPolicy(max_bytes=telegram.max_file_bytes, local_dir=telegram.local_dir)
    options = ChannelOptions(media=media, flow=flow)
    return node, TelegramChannel(node.dispatcher, ButtonSigner(key), options)


def _telegram_refused(exc: Exception) -> click.ClickException:
    """Why Telegram could not be used at start, without the library's message (URLs)."""
    from telegram.error import InvalidToken

    if isinstance(exc, InvalidToken):
        return click.ClickException(_("Telegram does not accept this bot token."))
    return click.ClickException(
        _("Cannot reach the Telegram Bot API. Check the network and ATTEST_TELEGRAM_API_URL.")
        + f" ({type(exc).__name__})"
    )


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _poll(settings: Any, telegram: TelegramSettings, flow: str | None) -> None:
    from telegram.error import TelegramError

    from bot.cli_documenters import remember_bot_username
    from bot.runtime import tune_garbage_collector
    from bot.telegram.app import ALLOWED_UPDATES, build_application
    from bot.telegram.polling import DurablePolling

    node, channel = await _open(settings, telegram, flow)
    try:
        app = build_application(
            telegram.token,
            channel,
            base_url=telegram.base_url,
            base_file_url=telegram.base_file_url,
        )
        try:
            await app.initialize()
        except TelegramError as exc:
            raise _telegram_refused(exc) from None
        remember_bot_username(settings.data_dir, app.bot.username)
        stop = _stop_event()
        await app.start()
        # As PTB's Updater does: polling and a webhook exclude each other.
        await app.bot.delete_webhook()
        # Not PTB's Updater: it confirms updates to Telegram before they are handled.
        polling = DurablePolling(app.bot, app.process_update, allowed_updates=ALLOWED_UPDATES)
        tune_garbage_collector()
        click.echo(_("Attest is running on Telegram (polling). Stop it with Ctrl+C."), err=True)
        try:
            await polling.run(stop)
        except TelegramError as exc:  # e.g. the token was revoked while running
            raise _telegram_refused(exc) from None
        await app.stop()
        await app.shutdown()
    finally:
        await node.close()


def webhook_server_config(web: Any, host: str, port: int) -> Any:
    """The uvicorn config for the webhook: its loggers go through our redacting handler.

    uvicorn's default `log_config` installs its own stderr handlers (and an access log
    that prints every request path and client address) beside bot.logs; `log_config=None`
    leaves logging as configure_logging set it up.
    """
    import uvicorn

    return uvicorn.Config(
        web,
        host=host,
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


async def _serve(
    settings: Any, telegram: TelegramSettings, flow: str | None, host: str, port: int, path: str
) -> None:
    import uvicorn
    from telegram.error import TelegramError

    from bot.cli_documenters import remember_bot_username
    from bot.runtime import tune_garbage_collector
    from bot.telegram.app import build_application
    from bot.telegram.webhook import webhook_app

    node, channel = await _open(settings, telegram, flow)
    try:
        app = build_application(
            telegram.token,
            channel,
            base_url=telegram.base_url,
            base_file_url=telegram.base_file_url,
        )
        try:
            await app.bot.initialize()
        except TelegramError as exc:
            raise _telegram_refused(exc) from None
        remember_bot_username(settings.data_dir, app.bot.username)
        assert telegram.webhook_secret is not None
        web = webhook_app(app.bot, channel, telegram.webhook_secret, path)
        server = uvicorn.Server(webhook_server_config(web, host, port))
        tune_garbage_collector()
        click.echo(_("Attest is serving the Telegram webhook."), err=True)
        await server.serve()
    finally:
        await node.close()


async def _register(telegram: TelegramSettings, url: str | None) -> None:
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    from bot.telegram.app import ALLOWED_UPDATES

    bot = Bot(telegram.token, base_url=telegram.base_url, base_file_url=telegram.base_file_url)
    try:
        async with bot:
            if url is None:
                await bot.delete_webhook()
            else:
                await bot.set_webhook(
                    url,
                    secret_token=telegram.webhook_secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                    max_connections=40,
                )
    except InvalidToken:
        raise click.ClickException(_("Telegram does not accept this bot token.")) from None
    except TelegramError as exc:
        raise click.ClickException(
            _("Telegram refused the webhook: ") + type(exc).__name__
        ) from None


@click.command()
@click.option("--webhook", "webhook_url", default=None, help="Serve a webhook for this URL.")
@click.option("--listen", default="127.0.0.1", show_default=True, help="Webhook listen address.")
@click.option("--port", default=8080, show_default=True, type=int, help="Webhook listen port.")
@click.option(
    "--path", "url_path", default=None, help="Webhook path (default: the path of --webhook)."
)
@click.option(
    "--set-webhook",
    "set_webhook",
    default=None,
    metavar="URL",
    help="Register URL as the webhook (with ATTEST_WEBHOOK_SECRET), then exit.",
)
@click.option("--delete-webhook", is_flag=True, help="Remove the webhook (back to polling), exit.")
@click.option(
    "--api-url",
    default=None,
    help="Bot API server (default ATTEST_TELEGRAM_API_URL, else the public one).",
)
@click.option(
    "--local",
    "local_dir",
    default=None,
    metavar="DIR",
    help="Local mode: read files from DIR, the self-hosted Bot API server's --dir "
    "(default ATTEST_TELEGRAM_LOCAL_DIR; off when unset).",
)
@click.option(
    "--insecure-http",
    is_flag=True,
    help="Allow an http:// Bot API server that is not on this machine (token in clear).",
)
@click.option("--flow", default=None, help="Flow new conversations start (default: survivor).")
def run(
    webhook_url: str | None,
    listen: str,
    port: int,
    url_path: str | None,
    set_webhook: str | None,
    delete_webhook: bool,
    api_url: str | None,
    local_dir: str | None,
    insecure_http: bool,
    flow: str | None,
) -> None:
    """Run the Telegram bot (token from ATTEST_TELEGRAM_TOKEN)."""
    from urllib.parse import urlparse

    from bot.cli import settings_or_exit

    env = os.environ
    registering = set_webhook is not None or delete_webhook
    telegram = telegram_settings(
        env,
        api_url,
        need_secret=webhook_url is not None or set_webhook is not None,
        local_dir=local_dir,
        insecure_http=insecure_http,
    )
    if registering:
        asyncio.run(_register(telegram, set_webhook))
        click.echo(_("Webhook removed.") if set_webhook is None else _("Webhook registered."))
        return
    settings = settings_or_exit()
    if webhook_url is None:
        asyncio.run(_poll(settings, telegram, flow))
        return
    path = url_path or urlparse(webhook_url).path or "/telegram"
    asyncio.run(_serve(settings, telegram, flow, listen, port, path))
