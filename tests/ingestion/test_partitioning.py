"""Every producer of the statements topic sends a learner's statements to one partition: the
librdkafka producers of the sources and the endpoint choose what Java's and kafka-python's
producers choose for the same key, so a learner's events stay in order whoever sends them."""

from __future__ import annotations

import pytest
from kafka.partitioner.default import murmur2

from skillstream import kafka
from skillstream.settings import Settings

pytestmark = pytest.mark.integration


def test_a_key_lands_where_the_java_partitioner_puts_it(pipeline_settings: Settings) -> None:
    partitions = pipeline_settings.partitions
    assert partitions > 1
    keys = [f"{n:064x}".encode() for n in range(40)]
    landed: dict[bytes, int] = {}

    def delivered(error: object, message: object) -> None:
        assert error is None, error
        landed[message.key()] = message.partition()  # type: ignore[attr-defined]

    producer = kafka.librdkafka_producer(pipeline_settings)
    for key in keys:
        producer.produce(pipeline_settings.statements_topic, b"{}", key=key, on_delivery=delivered)
    producer.flush(30)
    expected = {key: (murmur2(key) & 0x7FFFFFFF) % partitions for key in keys}
    assert landed == expected
