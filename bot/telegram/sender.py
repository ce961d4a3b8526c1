"""Sending replies: split at clean boundaries, protected, retried until Telegram takes them.

The turn is already saved when sending starts, so a failure here never loses an answer;
what it could lose is the reply, so sending retries: after a RetryAfter it waits as long
as Telegram asks, after a network error it backs off. A refusal that retrying cannot
fix (bad request, the person blocked the bot) is given up, logged by type only.

Every message carries `protect_content=True` (no forwarding, no saving). Texts longer than
Telegram's 4096 characters (counted in UTF-16 units, as Telegram counts) are split at
paragraph breaks, else line breaks, else spaces, and only as a last resort mid-word; the
keyboard goes on the last part.

Messages are sent with the Bot API's JSON directly (`Bot._post`, the one path every PTB
method and its rate limiter go through) and only the message id is read from Telegram's
answer: turning each answer into PTB's `Message` object cost more CPU than anything else
in a turn (bench/telegram.py), and nothing here needs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.telegram.keyboards import Keyboard

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
T = TypeVar("T")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> int:
    """The largest index such that text[:index] fits in `limit` UTF-16 units."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if utf16_len(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at the cleanest boundary available."""
    parts: list[str] = []
    rest = text.strip()
    while utf16_len(rest) > limit:
        window = rest[: _cut(rest, limit)]
        for separator in ("\n\n", "\n", " "):
            at = window.rfind(separator)
            if at > 0:
                parts.append(window[:at].rstrip())
                rest = rest[at + len(separator) :].lstrip()
                break
        else:
            parts.append(window)
            rest = rest[len(window) :]
    if rest:
        parts.append(rest)
    return [p for p in parts if p.strip()]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving a reply up."""

    attempts: int = 6
    first_backoff: float = 0.5
    max_wait: float = 60.0


class SendFailed(Exception):
    """Telegram would not take a message even after retrying (reason: the error's type).

    `transient`: given up on network errors or flood waits, which a later try may well
    overcome (not a refusal such as Bad Request, which waiting does not change).
    """

    def __init__(
        self, reason: str, *, transient: bool = False, maybe_delivered: bool = False
    ) -> None:
        super().__init__(reason)
        self.transient = transient
        # An attempt timed out: Telegram may have taken (and shown) the message anyway.
        self.maybe_delivered = maybe_delivered


async def with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> T:
    """Run one Bot API call, waiting out RetryAfter and backing off after network errors."""
    backoff = policy.first_backoff
    timed_out = False
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        try:
            return await call()
        except RetryAfter as exc:
            if last:
                raise SendFailed("RetryAfter", transient=True, maybe_delivered=timed_out) from None
            wait = exc.retry_after
            seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
            await sleep(min(seconds, policy.max_wait))
        except (BadRequest, Forbidden) as exc:
            raise SendFailed(type(exc).__name__, maybe_delivered=timed_out) from None
        except NetworkError as exc:  # includes TimedOut and Telegram's 5xx answers
            timed_out = timed_out or isinstance(exc, TimedOut)
            if last:
                raise SendFailed(
                    type(exc).__name__, transient=True, maybe_delivered=timed_out
                ) from None
            await sleep(backoff)
            backoff = min(backoff * 2, policy.max_wait)
        except TelegramError as exc:
            raise SendFailed(type(exc).__name__, maybe_delivered=timed_out) from None
    raise SendFailed("no attempts")  # only when attempts < 1


@dataclass(frozen=True)
class Part:
    """One message to send: text and, on the last part of an ask, its keyboard."""

    text: str
    keyboard: Keyboard | None = None


class Sender:
    """Sends parts to one chat in order; returns the message ids Telegram gave them.

    `given_up` counts the messages Telegram refused for good, so a caller can tell a reply
    that went out whole from one that did not.
    """

    def __init__(
        self,
        bot: Bot,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self.given_up = 0
        self.unreachable = 0  # of those, given up because Telegram could not be reached
        self.maybe_delivered = 0  # of those, ones Telegram may have shown after all

    async def send(self, chat_id: int, parts: list[Part]) -> list[int]:
        """Send every part; a part Telegram refuses for good is skipped, not the rest."""
        sent: list[int] = []
        for part in parts:
            for i, text in enumerate(chunks := split_text(part.text)):
                keyboard = part.keyboard if i == len(chunks) - 1 else None
                message_id = await self._one(chat_id, text, keyboard)
                if message_id is not None:
                    sent.append(message_id)
        return sent

    async def _one(self, chat_id: int, text: str, keyboard: Keyboard | None) -> int | None:
        data: dict[str, Any] = {"chat_id": chat_id, "text": text, "protect_content": True}
        if keyboard is not None:
            data["reply_markup"] = keyboard.to_dict()

        async def call() -> int:
            message = await self.bot._post("sendMessage", dict(data))
            message_id = message.get("message_id") if isinstance(message, dict) else None
            if not isinstance(message_id, int):
                raise TelegramError("sendMessage answered without a message id")
            return message_id

        try:
            return await with_retries(call, self.policy, self._sleep)
        except SendFailed as exc:
            log.warning("a reply could not be sent (%s)", exc)
            self.given_up += 1
            self.unreachable += exc.transient
            self.maybe_delivered += exc.maybe_delivered
            return None

    async def edit(
        self, chat_id: int, message_id: int, text: str, keyboard: Keyboard | None
    ) -> bool:
        """Replace a message's text and keyboard (multiple choice toggles in place)."""
        chunks = split_text(text)
        if len(chunks) != 1:
            return False

        data: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": chunks[0]}
        if keyboard is not None:
            data["reply_markup"] = keyboard.to_dict()

        async def call() -> bool:
            # Raw JSON, as sendMessage: PTB would build a Message (and its User and Chat)
            # from the answer only for it to be thrown away.
            await self.bot._post("editMessageText", dict(data))
            return True

        try:
            return await with_retries(call, self.policy, self._sleep)
        except SendFailed:
            return False

    async def answer_button(self, callback_query_id: str) -> None:
        """Stop the pressed button's spinner (answerCallbackQuery, as raw JSON too)."""

        async def call() -> Any:
            return await self.bot._post(
                "answerCallbackQuery", {"callback_query_id": callback_query_id}
            )

        await self.call(call)

    async def call(self, make: Callable[[], Awaitable[T]]) -> T | None:
        """Any other Bot API call with the same retries; None when it failed for good."""
        try:
            return await with_retries(make, self.policy, self._sleep)
        except SendFailed as exc:
            log.warning("a Bot API call failed (%s)", exc)
            return None
