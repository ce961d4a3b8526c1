"""Erasing a conversation from the chat: every message Telegram still lets a bot delete.

A bot may delete any message of a private chat, its own and the person's, for 48 hours.
`deleteMessages` takes 1-100 ids per call and skips ids that are gone or too old, so the
ids are sent in batches of 100, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.telegram.sender import Sender

BATCH = 100


def batches(ids: Iterable[int], size: int = BATCH) -> list[list[int]]:
    """Distinct ids in ascending order, in lists of at most `size`."""
    ordered = sorted(set(ids))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


async def erase_messages(sender: Sender, chat_id: int, ids: Iterable[int]) -> bool:
    """Delete the messages; True when Telegram took every batch."""
    complete = True
    for batch in batches(ids):

        async def call(batch: list[int] = batch) -> bool:
            return await sender.bot.delete_messages(chat_id, batch)

        complete = bool(await sender.call(call)) and complete
    return complete


def older_messages_may_remain(erased: Iterable[int]) -> bool:
    """Whether the chat may hold messages the bot can no longer delete.

    Message ids in a private chat count up from 1 for both sides, so if the oldest id the
    bot could still delete is above 1, earlier messages existed; the bot cannot tell
    whether the person already deleted them, so it says they may remain.
    """
    ids = list(erased)
    return not ids or min(ids) > 1
