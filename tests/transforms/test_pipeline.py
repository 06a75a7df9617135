"""The pipeline's process-wide settings and plumbing: a run changes the cyclic collector for
its duration only (`transform --follow` runs one pipeline a round, in one process); the
normaliser threads run below the rest of the process; batches have a coder of their own."""

from __future__ import annotations

import gc
import os
import pickle
import sys
import threading
from pathlib import Path

import apache_beam as beam
import orjson
import pytest

from skillstream import settings as settings_module
from skillstream.transforms import pipeline, pools
from skillstream.transforms.kafka_read import PartitionRange
from skillstream.transforms.native_bridge import normalise_chunk_table
from skillstream.transforms.records import KafkaBatch, KafkaRecord, NormalisedBatch
from tests.transforms.test_normalise import STATEMENT


def test_a_run_collects_young_objects_less_often_and_leaves_the_collector_as_it_was() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pipeline._startup_objects_frozen():
        assert gc.get_threshold()[0] == max(before[0], pipeline.YOUNG_COLLECTION_EVERY)
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen  # what the process held before the run
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def _thread_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice: Linux")
def test_normaliser_threads_run_their_nice_steps_below_the_process_and_leave_it_alone() -> None:
    process = _thread_nice()
    lowered = pools.normaliser_threads(2, nice=3)
    # each of the pool's threads, as it starts, lowers itself
    seen = {lowered.submit(_thread_nice).result() for _ in range(4)}
    assert seen == {min(19, process + 3)}
    assert _thread_nice() == process  # the thread that submits (the reading one) is untouched
    as_is = pools.normaliser_threads(2, nice=0)
    assert as_is.submit(_thread_nice).result() == process


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own nice: Linux")
def test_lowering_a_thread_below_the_least_priority_stops_at_19() -> None:
    def lowered_twice() -> int:
        pools.lower_thread_priority(15)
        pools.lower_thread_priority(15)  # 30 steps below 0: as low as Linux goes
        return _thread_nice()

    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(lowered_twice()))
    worker.start()
    worker.join()
    assert result == [19]


def _batches() -> tuple[KafkaBatch, NormalisedBatch]:
    records = [
        KafkaRecord(0, orjson.dumps(STATEMENT), "file", 1_782_900_000_000),
        KafkaRecord(1, b"{not json", "file", 1_782_900_000_000),
    ]
    read = KafkaBatch("xapi.statements", 2, 0, 2, records, closes_range=True, range_end=2)
    rows, rejects = normalise_chunk_table(records, 2, "salt")
    normalised = NormalisedBatch(
        "xapi.statements", 2, 0, 2, rows, rejects, closes_range=True, range_end=2
    )
    return read, normalised


def test_batches_cross_between_workers_whole() -> None:
    coder = pipeline.BatchCoder()
    read, normalised = _batches()
    assert coder.decode(coder.encode(read)) == read
    back = coder.decode(coder.encode(normalised))
    assert back.rows.equals(normalised.rows) and back.rejects == normalised.rejects
    assert (back.start, back.end, back.range_end, back.closes_range) == (0, 2, 2, True)


def test_a_batch_size_is_estimated_from_its_parts_without_encoding_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    coder = pipeline.BatchCoder()
    read, normalised = _batches()
    encoded = {id(b): len(coder.encode(b)) for b in (read, normalised)}

    def refused(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the estimate pickled the batch")

    monkeypatch.setattr(pickle, "dumps", refused)
    for batch in (read, normalised):
        estimate = coder.estimate_size(batch)
        assert encoded[id(batch)] / 4 <= estimate <= encoded[id(batch)] * 4


def test_the_pipeline_batches_use_the_batch_coder(tmp_path: Path) -> None:
    settings = settings_module.load(environ={}, cwd=tmp_path)
    p = beam.Pipeline()
    ranges = p | beam.Create([PartitionRange("xapi.statements", 0, 0, 10)])
    _ = ranges | "LandStatements" >> pipeline.LandStatements(settings, 10)
    stages = {t.full_label.split("/")[-1]: t for t in p.transforms_stack[0].parts[-1].parts}
    for label, kind in (("ReadKafkaBatches", KafkaBatch), ("NormaliseStatements", NormalisedBatch)):
        (output,) = stages[label].outputs.values()
        assert output.element_type is kind
        assert isinstance(beam.coders.registry.get_coder(output.element_type), pipeline.BatchCoder)
