"""The Beam pipeline: Kafka `xapi.statements` -> parse, validate, normalise -> DuckDB `raw.*`.

`run(argv)` is the only place with I/O set-up. Standard Beam PipelineOptions pass through,
so the same pipeline runs on Flink or Dataflow; the local default is Beam's in-process
FnApiRunner (the engine DirectRunner delegates batch pipelines to, without its attempt to
download the Prism runner from GitHub).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import gc
import logging
import pickle
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.utils.windowed_value import WindowedValue

from skillstream.settings import Settings
from skillstream.transforms.kafka_read import PartitionRange, ReadPartitionRange, plan_ranges
from skillstream.transforms.land import LandBatches, landed_offsets, wrap
from skillstream.transforms.native_bridge import (
    native_batch_table,
    native_normaliser,
    normalise_chunk_table,
)
from skillstream.transforms.pools import normaliser_threads, worker_pool
from skillstream.transforms.records import KafkaBatch, NormalisedBatch, statement_table

log = logging.getLogger("skillstream.transforms")


class BatchCoder(beam.coders.Coder):
    """The coder of the pipeline's batches (KafkaBatch, NormalisedBatch): pickled where a
    runner moves them between workers, and their size estimated from their parts.

    Beam's operation counters estimate the size of a sample of each PCollection's elements
    (the first 10, then ~10 × ln(n / 10) of n). With Beam's default coder each estimate pickled
    the whole batch, ~10 ms for 5,000 rows, on the reading thread: ~80 of them in a run of
    1M statements."""

    def encode(self, value: KafkaBatch | NormalisedBatch) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> KafkaBatch | NormalisedBatch:
        return pickle.loads(encoded)

    def is_deterministic(self) -> bool:
        return False

    def estimate_size(self, value: KafkaBatch | NormalisedBatch) -> int:
        if isinstance(value, KafkaBatch):
            return sum(len(record[1] or b"") + RECORD_OVERHEAD for record in value.records)
        rows = value.rows
        size = rows.nbytes if isinstance(rows, pa.Table) else ROW_BYTES * len(rows)
        return size + sum(len(reject[5] or "") + RECORD_OVERHEAD for reject in value.rejects)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


# For BatchCoder's estimates: bytes of a record besides its value (offset, source,
# timestamp), and of a row of the Python normaliser's tuples (an Arrow row is ~1.9 KB).
RECORD_OVERHEAD = 32
ROW_BYTES = 2048

beam.coders.registry.register_coder(KafkaBatch, BatchCoder)
beam.coders.registry.register_coder(NormalisedBatch, BatchCoder)


class NormaliseBatches(beam.DoFn):
    """KafkaBatch -> NormalisedBatch: valid rows and rejections, counted.

    With `workers` > 1 the compiled normaliser runs whole batches on that many threads of this
    process (it releases the interpreter while it works); without it, a batch is split over
    that many worker processes. Either way the DoFn keeps `ahead` batches in the workers:
    batch k is normalised while the batches before it land downstream (Beam fuses read,
    normalise and land). Batches come out in the order they came in; the last ones at the end
    of the bundle. The normaliser threads run `nice` nice values below the rest of the process
    (`transform_normaliser_nice`).
    """

    def __init__(self, salt: str, workers: int = 1, ahead: int = 1, nice: int = 0) -> None:
        self._salt = salt
        self._workers = workers
        self._nice = nice
        self._ahead = max(1, ahead)
        self._valid = beam.metrics.Metrics.counter("skillstream", "statements_valid")
        self._invalid = beam.metrics.Metrics.counter("skillstream", "statements_invalid")

    def setup(self) -> None:
        # Which normaliser a worker runs is its own: the compiled one where it is built and
        # loads (and SKILLSTREAM_NATIVE is not 0), else the Python one. Said once a worker.
        if native_normaliser() is not None:
            log.info("normalising with the compiled normaliser, %d threads", self._workers)
        else:
            log.info("normalising with the Python normaliser, %d processes", self._workers)

    def start_bundle(self) -> None:
        self._pending: collections.deque[tuple[KafkaBatch, list[concurrent.futures.Future]]] = (
            collections.deque()
        )

    def _submit(self, batch: KafkaBatch) -> list[concurrent.futures.Future]:
        if native_normaliser() is not None:  # threads of this process, the whole batch at once
            return [
                normaliser_threads(self._workers, self._nice).submit(
                    native_batch_table, batch.records, batch.partition, self._salt, self._workers
                )
            ]
        records = list(map(tuple, batch.records))  # plain tuples pickle 2x faster
        size = max(1, -(-len(records) // self._workers))
        pool = worker_pool(self._workers)
        return [
            pool.submit(normalise_chunk_table, records[i : i + size], batch.partition, self._salt)
            for i in range(0, len(records), size)
        ]

    def _collect(
        self, batch: KafkaBatch, parts: Iterable[tuple[pa.Table, list[tuple]]]
    ) -> NormalisedBatch:
        out = NormalisedBatch(
            batch.topic,
            batch.partition,
            batch.start,
            batch.end,
            skipped_from=batch.skipped_from,
            closes_range=batch.closes_range,
            range_end=batch.range_end,
        )
        tables = []
        for rows, rejects in parts:
            tables.append(rows)
            out.rejects.extend(rejects)
        out.rows = pa.concat_tables(tables) if tables else statement_table([])
        self._valid.inc(len(out.rows))
        self._invalid.inc(len(out.rejects))
        return out

    def process(self, batch: KafkaBatch) -> Iterable[NormalisedBatch]:
        if self._workers <= 1:
            yield self._collect(
                batch, [normalise_chunk_table(batch.records, batch.partition, self._salt)]
            )
            return
        self._pending.append((batch, self._submit(batch)))
        while len(self._pending) > self._ahead:
            done, futures = self._pending.popleft()
            yield self._collect(done, (f.result() for f in futures))

    def finish_bundle(self) -> Iterable[WindowedValue]:
        while self._pending:
            batch, futures = self._pending.popleft()
            out = self._collect(batch, (f.result() for f in futures))
            yield wrap(out)


# Batches the workers hold while the reading process lands: a gathered transaction of 245,760
# statements takes ~3 s to land, in which two workers normalise ~16 batches of 5000. More do
# not help (1M statements: 16 and 48 ahead alike, 48 holding 0.5 GiB more; 1 ahead is 7-20 %
# slower), and each batch ahead is memory (~6 MB of records and ~9 MB of rows a batch of 5000).
MAX_BATCHES_AHEAD = 16


def batches_ahead(batch_size: int, land_rows: int) -> int:
    """Batches in the workers at once: enough to keep them busy while a transaction lands,
    never more than one transaction gathers."""
    return max(1, min(MAX_BATCHES_AHEAD, land_rows // batch_size))


class LandStatements(beam.PTransform):
    """PartitionRanges -> statements landed exactly once, with their offsets."""

    def __init__(self, settings: Settings, batch_size: int) -> None:
        super().__init__()
        self._settings = settings
        self._batch_size = batch_size

    def expand(self, ranges: beam.PCollection) -> beam.PCollection:
        return (
            ranges
            | "ReadKafkaBatches"
            >> beam.ParDo(ReadPartitionRange(self._settings, self._batch_size)).with_output_types(
                KafkaBatch
            )
            | "NormaliseStatements"
            >> beam.ParDo(
                NormaliseBatches(
                    self._settings.learner_salt(),
                    self._settings.transform_workers,
                    ahead=batches_ahead(self._batch_size, self._settings.transform_land_rows),
                    nice=self._settings.transform_normaliser_nice,
                )
            ).with_output_types(NormalisedBatch)  # typed: their coder is BatchCoder
            | "LandInWarehouse" >> beam.ParDo(LandBatches(self._settings))
        )


@dataclass
class TransformSummary:
    ranges: list[PartitionRange]
    counters: dict[str, int]


def pipeline_options(settings: Settings, beam_args: Sequence[str]) -> PipelineOptions:
    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        standard.runner = settings.beam_runner
    if standard.runner == "FlinkRunner":  # this home's cluster, unless told another
        from skillstream.cluster import use_for_flink

        use_for_flink(settings, options)
    return options


def _counters(result: Any) -> dict[str, int]:
    counters: dict[str, int] = {}
    for counter in result.metrics().query()["counters"]:
        if counter.key.metric.namespace == "skillstream":
            name = counter.key.metric.name
            counters[name] = counters.get(name, 0) + int(
                counter.committed or counter.attempted or 0
            )
    return counters


# Allocations between young collections while a pipeline runs (Python's default: 700).
YOUNG_COLLECTION_EVERY = 100_000


@contextlib.contextmanager
def _startup_objects_frozen() -> Iterator[None]:
    """While a pipeline runs, keep what the process held before it (Beam, pandas, pyarrow,
    the settings: objects that live as long as the process) out of the cyclic collector's
    sight.

    A run's batches survive the young generations while they are in flight, so the
    collector runs full collections, and each walked every object of the process: 15 of
    ~100 ms in a run of 210k statements, 10 µs a statement on the reading thread that the
    run waits for. Frozen, they are not walked. Unfrozen after the run: frozen objects are
    never freed, and at exit DuckDB's binding would report its own as leaked.

    The young generation is collected every YOUNG_COLLECTION_EVERY allocations for the run,
    not every 700: with the normaliser on threads of this process, the tens of thousands of
    records in flight kept surviving young collections, and the full collections that
    followed walked them all (~7 % of a 1M-statement run's samples). The thresholds are put
    back after the run.
    """
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], YOUNG_COLLECTION_EVERY), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_until_caught_up(
    settings: Settings, beam_args: Sequence[str] = (), batch_size: int | None = None
) -> TransformSummary:
    """Land everything up to the end offsets seen now, then return."""
    options = pipeline_options(settings, beam_args)  # options a runner refuses: before Kafka
    ranges = plan_ranges(settings, landed_offsets(settings))
    if not ranges:
        return TransformSummary([], {})
    pipeline = beam.Pipeline(options=options)
    _ = (
        pipeline
        | "PlanPartitionRanges" >> beam.Create(ranges)
        # A stage break: a distributed runner spreads the partition ranges over its workers
        # instead of reading them all where the plan was made.
        | "SpreadPartitions" >> beam.Reshuffle()
        | "LandStatements" >> LandStatements(settings, batch_size or settings.transform_batch_size)
    )
    with _startup_objects_frozen():
        result = pipeline.run()
        result.wait_until_finish()
    return TransformSummary(ranges, _counters(result))


def run(argv: Sequence[str] | None = None) -> TransformSummary:
    """Entry point for `python -m skillstream.transforms.pipeline [beam options]`."""
    from skillstream import settings as settings_module

    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=None)
    known, beam_args = parser.parse_known_args(argv)
    return run_until_caught_up(settings_module.load(), beam_args, known.batch_size)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(run())
