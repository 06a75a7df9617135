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
from kafka import TopicPartition

from skillstream import kafka
from skillstream.settings import Settings
from skillstream.transforms.normalise import KafkaBatch, KafkaRecord

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
        self._consumer = kafka.consumer(self._settings, max_poll_records=self._batch_size)

    def teardown(self) -> None:
        consumer = getattr(self, "_consumer", None)
        if consumer is not None:
            consumer.close()

    def process(self, work: PartitionRange) -> Iterable[KafkaBatch]:
        tp = TopicPartition(work.topic, work.partition)
        self._consumer.assign([tp])
        self._consumer.seek(tp, work.start)
        batch_start, records, skipped_from = work.start, [], work.skipped_from
        last_progress = time.monotonic()
        while batch_start < work.end and not stop_requested.is_set():
            fetched = self._consumer.poll(timeout_ms=1000, max_records=self._batch_size).get(tp, [])
            for message in fetched:
                if message.offset >= work.end:
                    break
                source = next((v.decode() for k, v in message.headers or [] if k == "source"), None)
                records.append(
                    KafkaRecord(message.offset, message.value, source, message.timestamp)
                )
            # The next offset to fetch; past any control records, so the last batch can close.
            position = self._consumer.position(tp) or work.start
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
            yield KafkaBatch(work.topic, work.partition, batch_start, end, records, skipped_from)
            batch_start, records, skipped_from = end, [], None
