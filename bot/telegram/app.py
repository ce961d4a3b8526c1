"""The python-telegram-bot Application for polling: one message handler, one button handler.

No ConversationHandler and no persistence: conversation state lives in the encrypted
store and the engine decides what comes next. PTB only delivers updates and carries
replies. Updates of different people run concurrently; the channel keeps each person's
in order.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.telegram.channel import ReplyFailed, TelegramChannel

log = logging.getLogger(__name__)

# Seconds before each new try of a reply that could not reach Telegram (polling).
REPLY_RETRY_WAITS = (0.0, 10.0, 30.0, 60.0)

ALLOWED_UPDATES = (
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "channel_post",
)


class _Application(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application without its memory of every chat and user id it has seen.

    Even with no persistence, PTB adds the chat and user id of each update to two sets
    that only writing to persistence empties: for the life of the process they would list
    every person who ever wrote to the bot, in memory (and grow by every new person).
    Nothing here uses PTB's persistence, so nothing is marked.
    """

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: Any = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)


def build_application(
    token: str,
    channel: TelegramChannel,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
    rate_limit: bool = True,
    concurrent_updates: int = 1024,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """An Application whose handlers all hand the update to `channel`."""
    builder: Any = (
        Application.builder()
        .application_class(_Application)
        .token(token)
        .concurrent_updates(concurrent_updates)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    if base_url is not None:
        builder = builder.base_url(base_url)
    if base_file_url is not None:
        builder = builder.base_file_url(base_file_url)
    if rate_limit:
        # Throttles to Telegram's limits; RetryAfter is left to the channel's own retries
        # so that one place decides how long a reply may wait.
        builder = builder.rate_limiter(AIORateLimiter(max_retries=0))

    async def drain(_: Application[Any, Any, Any, Any, Any, Any]) -> None:
        await channel.drain()  # message ids still being written for quick exit

    application: Application[Any, Any, Any, Any, Any, Any] = builder.post_stop(drain).build()

    async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Every update goes the same way: to the channel."""
        try:
            await channel.process(update, context.bot)
        except ReplyFailed as exc:
            # The answer is saved and its reply kept: handling the same update again sends
            # that kept reply. Polling has no redelivery to wait for, so try again here, a
            # little later each time (within the time polling holds the update back).
            log.error("a reply could not be sent (%s); trying again later", exc)
            for wait in REPLY_RETRY_WAITS:
                await asyncio.sleep(wait)
                try:
                    await channel.process(update, context.bot)
                except ReplyFailed:
                    continue
                except Exception as again:
                    log.error("a reply could not be sent (%s)", type(again).__name__)
                return
            log.error("a reply could not be sent; it stays kept for the person's next try")
        except Exception as exc:
            # Polling confirms a handled update, failed or not, so it will not come again
            # (retrying a failure forever could block everyone): nothing was saved, and the
            # person is asked to send it once more.
            log.error("an update failed (%s)", type(exc).__name__)
            await channel.apologise(update, context.bot)

    application.add_handler(MessageHandler(filters.ALL, on_update))  # incl. edits and posts
    application.add_handler(CallbackQueryHandler(on_update))
    application.add_handler(ChatMemberHandler(on_update, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(log_error)
    return application


async def log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Errors by type only: a library's message can quote what a person wrote."""
    error = context.error
    log.error("an update failed (%s)", type(error).__name__ if error else "unknown")
