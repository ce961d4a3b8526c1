"""Files people send (voice notes, and photos or documents where a flow asks for them).

A file is taken in only where the step being asked allows media. It is refused before any
download when Telegram says it is larger than the limit; otherwise it is downloaded,
hashed and encrypted by the store (which enforces the limit again while streaming, since
the size Telegram reports is the sender's claim), and only the encrypted file is kept.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Protocol

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.telegram.sender import RetryPolicy, SendFailed, with_retries
from bot.telegram.updates import IncomingFile
from flows.types import MediaRef

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # what the public Bot API gateway lets a bot download


class TooLarge(Exception):
    """The file is over the limit (or over what the Bot API server will hand out)."""


class FileStore(Protocol):
    """The part of the dispatcher that keeps files."""

    async def store_file(
        self,
        channel: str,
        chat_id: int | str,
        src: io.BufferedIOBase | io.BytesIO,
        kind: str,
        mime: str | None,
        max_bytes: int,
    ) -> MediaRef: ...


@dataclass(frozen=True)
class MediaPolicy:
    """Which files are welcome and how big they may be."""

    max_bytes: int = DEFAULT_MAX_BYTES


async def take_in(
    bot: Bot,
    store: FileStore,
    chat_id: int,
    incoming: IncomingFile,
    policy: MediaPolicy,
    retry: RetryPolicy | None = None,
) -> MediaRef:
    """Download, hash and encrypt one file; TooLarge when it is over the limit."""
    if incoming.size is not None and incoming.size > policy.max_bytes:
        raise TooLarge
    retry = retry or RetryPolicy(attempts=3)
    try:
        telegram_file = await with_retries(lambda: bot.get_file(incoming.file_id), retry)
        data = await with_retries(telegram_file.download_as_bytearray, retry)
    except SendFailed as exc:
        if str(exc) == BadRequest.__name__:
            raise TooLarge from None  # the gateway refuses files it will not serve
        raise
    except TelegramError:
        raise
    if len(data) > policy.max_bytes:
        raise TooLarge
    from storage.errors import FileTooLarge

    try:
        return await store.store_file(
            "telegram",
            chat_id,
            io.BytesIO(bytes(data)),
            incoming.kind,
            incoming.mime,
            policy.max_bytes,
        )
    except FileTooLarge:
        raise TooLarge from None
