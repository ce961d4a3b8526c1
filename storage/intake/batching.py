"""What the writer and the reader threads share: taking a batch, and waking its callers.

Both threads take the first waiting job, then every job queued meanwhile (up to a cap),
run them together, and hand each result back to the event loop that asked for it: once
per loop for the whole batch, since every wake-up is a write to the loop's self-pipe and a
turn of the loop to read it.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from storage.errors import StorageError

T = TypeVar("T")
Outcome = tuple[Any, BaseException | None]  # (value, None) or (None, error)


@dataclass
class Pending(Generic[T]):
    """One job waiting on a thread, and the future its caller awaits."""

    job: Any
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]


def take_batch(
    jobs: queue.SimpleQueue[Pending[Any] | None], max_batch: int
) -> tuple[list[Pending[Any]], bool]:
    """Block for the first job, then take what else is waiting; (batch, stop requested).

    A `None` in the queue asks the thread to stop after this batch (the batch may be empty).
    """
    first = jobs.get()
    if first is None:
        return [], True
    batch = [first]
    while len(batch) < max_batch:
        try:
            item = jobs.get_nowait()
        except queue.Empty:
            break
        if item is None:
            return batch, True
        batch.append(item)
    return batch, False


class BatchThread(ABC):
    """A daemon thread serving batches of jobs put by event loops; `close` stops it.

    Subclasses set what `_serve` needs before calling `__init__` (it starts the thread),
    and implement `_serve`, usually `for batch in self._batches(): ... wake(batch, ...)`.
    """

    closed_error: type[StorageError] = StorageError

    def __init__(self, name: str, max_batch: int) -> None:
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Pending[Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _submit(self, job: Any) -> asyncio.Future[Any]:
        """Queue `job`; the future its caller awaits."""
        if self._closed:
            raise self.closed_error()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(Pending(job, loop, future))
        return future

    async def close(self) -> None:
        """Serve what is queued, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _batches(self) -> Iterator[list[Pending[Any]]]:
        while True:
            batch, stop = take_batch(self._queue, self._max_batch)
            if batch:
                yield batch
            if stop:
                return

    @abstractmethod
    def _serve(self) -> None:
        """The thread's body: take batches until `close`, and wake their callers."""


def wake(batch: Sequence[Pending[Any]], outcomes: Sequence[Outcome]) -> None:
    """Settle every caller's future, with one call into each event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Outcome]]] = {}
    for pending, outcome in zip(batch, outcomes, strict=True):
        by_loop.setdefault(pending.loop, []).append((pending.future, outcome))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_all, settled)
        except RuntimeError:  # the caller's event loop is already closed
            continue


def _settle_all(settled: list[tuple[asyncio.Future[Any], Outcome]]) -> None:
    for future, (value, error) in settled:
        if future.done():  # the caller gave up (cancelled)
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
