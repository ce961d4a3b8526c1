"""What the writer and the reader threads share: taking a batch, and waking its callers.

Both threads take the first waiting job, then every job queued meanwhile (up to a cap),
run them together, and hand each result back to the event loop that asked for it: once
per loop for the whole batch, since every wake-up is a write to the loop's self-pipe and a
turn of the loop to read it.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
