"""The node process's garbage collector settings."""

from __future__ import annotations

import gc

from bot.runtime import GC_THRESHOLDS, tune_garbage_collector


def test_start_up_objects_are_frozen_and_young_passes_are_rarer() -> None:
    before = gc.get_threshold()
    try:
        tune_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > 0  # what was alive at start-up is out of every pass
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # cycles are still collected
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
