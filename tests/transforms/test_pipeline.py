"""The pipeline's process-wide settings: a run changes the cyclic collector for its duration
only (`transform --follow` runs one pipeline a round, in one process)."""

from __future__ import annotations

import gc

from skillstream.transforms import pipeline


def test_a_run_collects_young_objects_less_often_and_leaves_the_collector_as_it_was() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pipeline._startup_objects_frozen():
        assert gc.get_threshold()[0] == max(before[0], pipeline.YOUNG_COLLECTION_EVERY)
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen  # what the process held before the run
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
