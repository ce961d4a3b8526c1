"""Long polling that confirms an update to Telegram only once it is handled.

PTB's `Updater` asks for the next batch, with an offset that confirms the previous one,
as soon as it has queued that batch: updates still being handled are already confirmed,
and a process that dies then loses them (the person's answer is neither saved nor
answered, and Telegram will not deliver it again).

Here the offset never moves past an update still in flight. Updates are handled
concurrently (one person's in order: the channel keeps a lock per chat); Telegram keeps
returning the unconfirmed ones, which are recognised by id and not started twice. After
a crash, Telegram delivers every unconfirmed update again; those already saved are
recognised by the store (processed update ids) and not applied twice.

Telegram returns at most `limit` (100) updates from the offset, counting those in flight,
so about that many run at once; with Telegram's own sending limits (30 messages a second)
that is not what bounds the bot.

An update that takes very long (a large file, a long RetryAfter) holds the offset back
for everyone; past `hold_back` seconds it is confirmed anyway — it keeps running, only
its redelivery after a crash is given up — so a stuck update cannot block the bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from telegram import Bot, Update
from telegram.error import Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

log = logging.getLogger(__name__)

Handle = Callable[[Update], Awaitable[None]]


class DurablePolling:
    """getUpdates with the offset advanced only past updates fully handled."""

    def __init__(
        self,
        bot: Bot,
        handle: Handle,
        *,
        allowed_updates: Sequence[str],
        timeout: int = 10,
        limit: int = 100,
        hold_back: float = 120.0,
        max_in_flight: int = 1024,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._bot = bot
        self._handle = handle
        self._allowed = list(allowed_updates)
        self._timeout = timeout
        self._limit = limit
        self._hold_back = hold_back
        self._max_in_flight = max_in_flight
        self._sleep = sleep
        self._running: dict[int, tuple[float, asyncio.Task[None]]] = {}
        self._highest: int | None = None  # the highest update id ever started
        self._finished = asyncio.Event()
        self.confirmed: int | None = None  # the offset last sent to Telegram

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def offset(self, now: float | None = None) -> int | None:
        """The next getUpdates offset: the oldest update still running, if not held too long."""
        now = time.monotonic() if now is None else now
        waiting = [
            uid for uid, (since, _) in self._running.items() if now - since < self._hold_back
        ]
        if waiting:
            return min(waiting)
        return None if self._highest is None else self._highest + 1

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, then wait for the updates in flight and confirm them."""
        backoff = 1.0
        while not stop.is_set():
            offset = self.offset()
            # With updates in flight Telegram answers at once (they are unconfirmed), so
            # do not long-poll then; wait for one of them to finish instead.
            timeout = 0 if self._running else self._timeout
            self._finished.clear()  # set again by any update finishing from here on
            try:
                updates = await self._get(offset, timeout, stop)
            except (InvalidToken, Forbidden):
                raise
            except RetryAfter as exc:
                wait = exc.retry_after
                await self._sleep(wait.total_seconds() if hasattr(wait, "total_seconds") else wait)
                continue
            except (NetworkError, TelegramError) as exc:
                log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            if updates is None:  # stopped while waiting
                break
            started = self._start(updates)
            if (not started and self._running) or len(self._running) >= self._max_in_flight:
                await self._wait_for_one(stop)
        await self.finish()

    async def _get(
        self, offset: int | None, timeout: int, stop: asyncio.Event
    ) -> list[Update] | None:
        fetch = asyncio.ensure_future(
            self._bot.get_updates(
                offset=offset,
                timeout=timeout,
                limit=self._limit,
                allowed_updates=self._allowed,
            )
        )
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            fetch.cancel()
            await asyncio.gather(fetch, return_exceptions=True)
            return None
        stopping.cancel()
        updates = list(fetch.result())
        self.confirmed = offset  # a cancelled request may never have reached Telegram
        return updates

    def _start(self, updates: Sequence[Update]) -> int:
        started = 0
        for update in sorted(updates, key=lambda u: u.update_id):
            uid = update.update_id
            if self.confirmed is not None and uid < self.confirmed:
                # Below what was confirmed: Telegram restarted its id sequence (it does so
                # after a week without updates), so this is new.
                self._highest = None
            elif uid in self._running or (self._highest is not None and uid <= self._highest):
                continue  # still running, or handled already (Telegram sent it again)
            self._highest = uid
            task = asyncio.create_task(self._one(update), name="attest-update")
            self._running[uid] = (time.monotonic(), task)
            started += 1
        return started

    async def _one(self, update: Update) -> None:
        try:
            await self._handle(update)
        except Exception as exc:  # the handler reports its own failures; never stop polling
            log.error("an update failed (%s)", type(exc).__name__)
        finally:
            self._running.pop(update.update_id, None)
            self._finished.set()

    async def _wait_for_one(self, stop: asyncio.Event) -> None:
        if not self._running or self._finished.is_set():
            return
        waiters = {asyncio.ensure_future(self._finished.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waiters, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def finish(self, grace: float = 30.0) -> None:
        """Let the updates in flight finish (at most `grace` seconds), then confirm them."""
        tasks = [task for _, task in self._running.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        offset = self.offset()
        if offset is not None and offset != self.confirmed:
            try:
                await self._bot.get_updates(
                    offset=offset, timeout=0, limit=1, allowed_updates=self._allowed
                )
                self.confirmed = offset
            except TelegramError as exc:  # they will simply be delivered again
                log.warning("could not confirm the last updates (%s)", type(exc).__name__)
