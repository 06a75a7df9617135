"""Reading Kafka as batches: a plan of per-partition offset ranges, and the DoFn that reads one.

The plan is bounded (up to the end offsets seen at start), and each range is one element,
so a distributed runner spreads partitions over workers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import apache_beam as beam

from skillstream import kafka
from skillstream.settings import Settings
from skillstream.transforms.records import KafkaBatch, KafkaRecord

log = logging.getLogger("skillstream.transforms")


@dataclass(frozen=True)
class PartitionRange:
    topic: str
    partition: int
    start: int
    end: int
    skipped_from: int | None = None


# Set by `transform --follow` on SIGTERM: readers stop at the next batch boundary, so the
# batch in flight (read, normalised and landed in one fused stage) commits and no other starts.
stop_requested = threading.Event()


class KafkaStalled(RuntimeError):
    """The broker stopped serving a range the plan expects to read."""


def plan_ranges(settings: Settings, landed: dict[int, int]) -> list[PartitionRange]:
    """Per partition: from the next offset landed (or the log start) to the current end."""
    ranges = []
    for partition, (beginning, end) in sorted(
        kafka.offsets(settings, settings.statements_topic).items()
    ):
        stored = landed.get(partition)
        start = beginning if stored is None else max(stored, beginning)
        skipped = stored if stored is not None and stored < beginning else None
        if skipped is not None:
            log.warning(
                "partition %d: offsets %d..%d were deleted from Kafka before they were landed",
                partition,
                stored,
                beginning - 1,
            )
        if start < end:
            ranges.append(PartitionRange(settings.statements_topic, partition, start, end, skipped))
    return ranges


class ReadPartitionRange(beam.DoFn):
    """PartitionRange -> KafkaBatch elements of up to `batch_size` records, in offset order."""

    def __init__(self, settings: Settings, batch_size: int, stall_seconds: float = 300.0) -> None:
        self._settings = settings
        self._batch_size = batch_size
        self._stall_seconds = stall_seconds
        self._read = beam.metrics.Metrics.counter("skillstream", "records_read")

    def setup(self) -> None:
        self._reader = kafka.PartitionReader(self._settings)

    def teardown(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.close()

    def process(self, work: PartitionRange) -> Iterable[KafkaBatch]:
        self._reader.seek(work.topic, work.partition, work.start)
        batch_start, skipped_from = work.start, work.skipped_from
        records: list[KafkaRecord] = []
        last_progress, position = time.monotonic(), work.start
        while batch_start < work.end and not stop_requested.is_set():
            # No more than the range holds: a client may wait for as many as it is asked for.
            wanted = min(self._batch_size - len(records), work.end - position)
            fetched, position = self._reader.read(max(wanted, 1), timeout=1.0)
            for record in fetched:
                if record[0] >= work.end:
                    break
                records.append(KafkaRecord(*record))
            # `position` is past any control records, so the last batch can close.
            position = max(position, work.start)
            if fetched:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > self._stall_seconds:
                raise KafkaStalled(
                    f"{work.topic}[{work.partition}]: no records for {self._stall_seconds:.0f} s "
                    f"at offset {position}, expected up to {work.end}"
                )
            if position >= work.end:
                end = work.end
            elif len(records) >= self._batch_size:
                end = records[-1].offset + 1
            else:
                continue
            self._read.inc(len(records))
            yield KafkaBatch(
                work.topic,
                work.partition,
                batch_start,
                end,
                records,
                skipped_from,
                closes_range=end == work.end,
                range_end=work.end,
            )
            batch_start, records, skipped_from = end, [], None
