"""Settings of a long-running node process: the garbage collector.

Python's cyclic garbage collector runs a young-generation pass every 700 net allocations
and, now and then, a full pass over every live object. A node allocates a few hundred
objects per turn (PTB's update objects, the engine's session, the store's rows) and keeps
many alive (PTB, flows, translations, caches), so with the defaults those passes cost
about 40% of a turn at 30,000 people (bench/telegram.py). `tune_garbage_collector` moves
everything alive at start-up out of the collector's sight (`gc.freeze`: the flows, the
catalogs, PTB's application never become garbage) and collects the young generation every
50,000 allocations instead of 700. Reference cycles are still collected, later; memory
held by young objects in between is a few megabytes.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 20)


def tune_garbage_collector() -> None:
    """Call once the process is set up, before it starts serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
