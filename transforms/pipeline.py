"""The Beam pipeline: Kafka `xapi.statements` -> parse, validate, normalise -> DuckDB `raw.*`.

`run(argv)` is the only place with I/O set-up. Standard Beam PipelineOptions pass through,
so the same pipeline runs on Flink or Dataflow; the local default is Beam's in-process
FnApiRunner (the engine DirectRunner delegates batch pipelines to, without its attempt to
download the Prism runner from GitHub).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from skillstream import warehouse
from skillstream.settings import Settings
from skillstream.transforms.kafka_read import PartitionRange, ReadPartitionRange, plan_ranges
from skillstream.transforms.land import LandBatches
from skillstream.transforms.normalise import NormaliseBatches

log = logging.getLogger("skillstream.transforms")


class LandStatements(beam.PTransform):
    """PartitionRanges -> statements landed exactly once, with their offsets."""

    def __init__(self, settings: Settings, batch_size: int) -> None:
        super().__init__()
        self._settings = settings
        self._batch_size = batch_size

    def expand(self, ranges: beam.PCollection) -> beam.PCollection:
        return (
            ranges
            | "ReadKafkaBatches" >> beam.ParDo(ReadPartitionRange(self._settings, self._batch_size))
            | "NormaliseStatements"
            >> beam.ParDo(
                NormaliseBatches(self._settings.learner_salt(), self._settings.transform_workers)
            )
            | "LandInWarehouse" >> beam.ParDo(LandBatches(self._settings))
        )


@dataclass
class TransformSummary:
    ranges: list[PartitionRange]
    counters: dict[str, int]


def landed_offsets(settings: Settings) -> dict[int, int]:
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        rows = con.execute(
            "SELECT kafka_partition, next_offset FROM raw.ingest_offsets WHERE topic = ?",
            [settings.statements_topic],
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def pipeline_options(settings: Settings, beam_args: Sequence[str]) -> PipelineOptions:
    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        standard.runner = settings.beam_runner
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


def run_until_caught_up(
    settings: Settings, beam_args: Sequence[str] = (), batch_size: int | None = None
) -> TransformSummary:
    """Land everything up to the end offsets seen now, then return."""
    ranges = plan_ranges(settings, landed_offsets(settings))
    if not ranges:
        return TransformSummary([], {})
    options = pipeline_options(settings, beam_args)
    pipeline = beam.Pipeline(options=options)
    _ = (
        pipeline
        | "PlanPartitionRanges" >> beam.Create(ranges)
        # A stage break: a distributed runner spreads the partition ranges over its workers
        # instead of reading them all where the plan was made.
        | "SpreadPartitions" >> beam.Reshuffle()
        | "LandStatements" >> LandStatements(settings, batch_size or settings.transform_batch_size)
    )
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
