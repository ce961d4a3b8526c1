"""The webhook endpoint: checks Telegram's secret header, saves the turn, then answers 200.

PTB's own webhook server answers Telegram before the update is processed, so an update
could be acknowledged and then lost in a crash. Here the answer comes only after the
channel has committed the turn and sent the reply: if the process dies earlier, Telegram
delivers the update again, and the store's record of processed update ids keeps it from
being applied twice; a reply that had not gone out is sent then (kept with the turn).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, Update

from bot.telegram.channel import TelegramChannel

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # updates are small; anything larger is not from Telegram


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `limit` (never held whole then)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def webhook_app(
    bot: Bot,
    channel: TelegramChannel,
    secret: str,
    path: str = "/telegram",
) -> Starlette:
    """A Starlette app with one route, POST `path`, that Telegram delivers updates to."""
    expected = secret.encode("utf-8")

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            return Response(status_code=403)
        body = await _read_at_most(request, MAX_BODY)
        if body is None:
            return Response(status_code=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or type(data.get("update_id")) is not int:
                raise ValueError("not an update")
            update = Update.de_json(data, bot)
        except Exception:  # malformed: nothing Telegram would send, nothing to retry
            return Response(status_code=400)
        try:
            await channel.process(update, bot)
        except Exception as exc:
            # Not acknowledged, so Telegram tries again later; nothing was half-saved.
            log.error("an update failed (%s)", type(exc).__name__)
            return Response(status_code=500)
        return Response(status_code=200)

    async def health(request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await bot.initialize()
        try:
            yield
        finally:
            await channel.drain()
            await bot.shutdown()

    return Starlette(
        routes=[Route(path, receive, methods=["POST"]), Route("/healthz", health)],
        lifespan=lifespan,
    )
