"""Reading partition ranges from the real broker: batches in offset order, the `source`
header and timestamps, ranges that end in or span a transaction's control record, and a clear
error when no broker answers."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaProducer

from skillstream import broker as broker_module
from skillstream import kafka
from skillstream.settings import Settings
from skillstream.transforms.kafka_read import PartitionRange, ReadPartitionRange
from skillstream.transforms.records import KafkaBatch

pytestmark = pytest.mark.integration


def read(settings: Settings, work: PartitionRange, batch_size: int) -> list[KafkaBatch]:
    reader = ReadPartitionRange(settings, batch_size, stall_seconds=10)
    reader.setup()
    try:
        return list(reader.process(work))
    finally:
        reader.teardown()


def end_of_partition_0(settings: Settings, at_least: int = 0) -> int:
    """The end offset of partition 0, once it is at least `at_least`: the coordinator writes a
    transaction's commit marker after the producer's commit has returned."""
    deadline = time.monotonic() + 30
    while True:
        end = kafka.offsets(settings, settings.statements_topic)[0][1]
        if end >= at_least or time.monotonic() > deadline:
            return end
        time.sleep(0.1)


def test_a_range_is_read_in_batches_in_offset_order(pipeline_settings: Settings) -> None:
    producer = kafka.producer(pipeline_settings)
    try:
        futures = [
            producer.send(
                pipeline_settings.statements_topic,
                value=f"record {i}".encode(),
                partition=0,
                timestamp_ms=1_782_900_000_000 + i,
                headers=[("source", b"lms-a" if i % 2 else b"tutor")],
            )
            for i in range(23)
        ]
        producer.flush()
        assert kafka.wait_acknowledged(futures) == []
    finally:
        producer.close()
    topic = pipeline_settings.statements_topic

    batches = read(pipeline_settings, PartitionRange(topic, 0, 5, 23), batch_size=10)

    assert [(b.start, b.end) for b in batches] == [(5, 15), (15, 23)]
    assert [b.closes_range for b in batches] == [False, True]  # the landing waits for no more
    records = [r for b in batches for r in b.records]
    assert [r.offset for r in records] == list(range(5, 23))
    assert records[0].value == b"record 5"
    assert records[0].source == "lms-a" and records[1].source == "tutor"
    assert records[-1].timestamp_ms == 1_782_900_000_022
    assert all(b.partition == 0 and b.topic == topic for b in batches)


def test_a_source_header_that_is_not_utf8_reads_with_replacement_characters(
    pipeline_settings: Settings,
) -> None:
    """A producer's bad header costs the name its odd bytes, not the run: the reader reads
    the record, with its first `source` header."""
    producer = kafka.producer(pipeline_settings)
    headers: list[list[tuple[str, bytes]]] = [
        [("source", b"lms-\xff")],
        [],
        [("other", b"x"), ("source", b"tutor"), ("source", b"later")],
    ]
    try:
        futures = [
            producer.send(pipeline_settings.statements_topic, value=b"{}", partition=0, headers=h)
            for h in headers
        ]
        producer.flush()
        assert kafka.wait_acknowledged(futures) == []
    finally:
        producer.close()

    batches = read(
        pipeline_settings, PartitionRange(pipeline_settings.statements_topic, 0, 0, 3), 10
    )

    assert [r.source for b in batches for r in b.records] == ["lms-\ufffd", None, "tutor"]


def produce_transaction(settings: Settings, values: list[bytes], transactional_id: str) -> None:
    producer = KafkaProducer(
        bootstrap_servers=settings.bootstrap, transactional_id=transactional_id
    )
    try:
        producer.init_transactions()
        producer.begin_transaction()
        for value in values:
            producer.send(settings.statements_topic, value=value, partition=0)
        producer.commit_transaction()
    finally:
        producer.close()


def test_ranges_that_end_in_or_span_control_records_close(pipeline_settings: Settings) -> None:
    """A transactional producer leaves a commit marker after its records: an offset that no
    client delivers. A range ending there must still close, not wait for it."""
    topic = pipeline_settings.statements_topic
    produce_transaction(pipeline_settings, [b"a", b"b", b"c"], f"{topic}-1")
    assert end_of_partition_0(pipeline_settings, at_least=4) == 4  # 3 records and the marker

    first = read(pipeline_settings, PartitionRange(topic, 0, 0, 4), batch_size=10)

    assert [(b.start, b.end) for b in first] == [(0, 4)]
    assert first[0].closes_range
    assert [r.value for r in first[0].records] == [b"a", b"b", b"c"]

    produce_transaction(pipeline_settings, [b"d", b"e"], f"{topic}-2")
    produce_transaction(pipeline_settings, [b"f"], f"{topic}-3")
    end = end_of_partition_0(pipeline_settings, at_least=4 + 3 + 2)
    assert end == 4 + 3 + 2  # two more records and marker, one more record and marker

    spanned = read(pipeline_settings, PartitionRange(topic, 0, 4, end), batch_size=2)

    assert spanned[0].start == 4 and spanned[-1].end == end
    assert [b.closes_range for b in spanned] == [False] * (len(spanned) - 1) + [True]
    assert all(a.end == b.start for a, b in itertools.pairwise(spanned))
    assert [r.value for b in spanned for r in b.records] == [b"d", b"e", b"f"]


@pytest.fixture
def no_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    from tests.conftest import make_settings

    yield make_settings(
        tmp_path_factory.mktemp("nobroker"), bootstrap=f"localhost:{broker_module.free_port()}"
    )


def test_no_broker_is_a_clear_error_not_a_hang(no_broker: Settings) -> None:
    started = time.monotonic()
    with pytest.raises(
        kafka.KafkaUnavailable, match=f"no Kafka broker answers at {no_broker.bootstrap}"
    ):
        kafka.PartitionReader(no_broker)
    assert time.monotonic() - started < 30
