"""Kafka clients and topics: the one home of how skillstream talks to the broker.

kafka-python is the client of topics, offsets and the transform's own producers. Producers
are idempotent with acks=all, so an acknowledged send is on the broker and a retried send is
never written twice. Ingestion produces (`librdkafka_producer`) and the transform reads
partitions (`PartitionReader`) with librdkafka through confluent-kafka: its C client batches,
encodes and decodes without Python code per record, where kafka-python spends ~25 µs of
Python a record reading and ~50 µs sending (docs/transform.md, bench/bench_ingestion.py).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from skillstream.settings import Settings

# kafka-python logs every reconnect attempt at WARNING/ERROR; our own messages say what failed.
logging.getLogger("kafka").setLevel(logging.CRITICAL)
logging.getLogger("kafka.librdkafka").setLevel(logging.CRITICAL)
log = logging.getLogger("skillstream.kafka")


# How long a client tries to reach the cluster before saying it cannot.
BOOTSTRAP_TIMEOUT_MS = 10_000


class KafkaUnavailable(RuntimeError):
    """The broker at the bootstrap address cannot be reached."""


def producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 20,
        "batch_size": 512 * 1024,
        "max_request_size": 16 * 1024 * 1024,
        "request_timeout_ms": 30_000,
        "max_block_ms": 30_000,
        "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
        "allow_auto_create_topics": False,
    }
    config.update(overrides)
    try:
        return KafkaProducer(**config)
    except KafkaError as error:
        raise _unavailable(settings, error) from None


def librdkafka_producer(
    settings: Settings, bootstrap_timeout_s: float = BOOTSTRAP_TIMEOUT_MS / 1000, **overrides: Any
) -> Any:
    """A confluent-kafka producer with `producer`'s guarantees (acks=all, idempotent), once
    the broker answered. Its sends are acknowledged through `on_delivery` callbacks, which
    run inside `poll` and `flush`."""
    from confluent_kafka import KafkaException, Producer

    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        # a learner's key goes to the partition Java's and kafka-python's producers choose for it,
        # so every producer of the topic keeps a learner's statements in one partition, in order
        "partitioner": "murmur2_random",
        "linger.ms": 20,
        "message.max.bytes": 16 * 1024 * 1024,
        # room for a file source's checkpoint interval of sends in flight, ~1 KB each
        "queue.buffering.max.messages": 200_000,
        "message.timeout.ms": 120_000,
        "socket.timeout.ms": 30_000,
        "logger": logging.getLogger("kafka.librdkafka"),
    }
    config.update(overrides)
    client = Producer(config)
    try:  # fail at once when no broker answers, not at the first flush
        client.list_topics(timeout=bootstrap_timeout_s)
    except KafkaException as error:
        raise _unavailable(settings, error) from None
    return client


def consumer(settings: Settings, **overrides: Any) -> KafkaConsumer:
    """A consumer without a group: skillstream assigns partitions and tracks offsets itself."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap,
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_bytes": 64 * 1024 * 1024,
        "max_partition_fetch_bytes": 16 * 1024 * 1024,
        "request_timeout_ms": 30_000,
        "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
    }
    config.update(overrides)
    try:
        return KafkaConsumer(**config)
    except KafkaError as error:
        raise _unavailable(settings, error) from None


def admin(settings: Settings, bootstrap_timeout_ms: int = BOOTSTRAP_TIMEOUT_MS) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            bootstrap_servers=settings.bootstrap,
            request_timeout_ms=30_000,
            bootstrap_timeout_ms=bootstrap_timeout_ms,
        )
    except KafkaError as error:
        raise _unavailable(settings, error) from None


def _unavailable(settings: Settings, error: Exception) -> KafkaUnavailable:
    return KafkaUnavailable(
        f"no Kafka broker answers at {settings.bootstrap} ({type(error).__name__}); "
        "start one with `skillstream up` or set SKILLSTREAM_BOOTSTRAP"
    )


def wait_for_broker(settings: Settings, timeout: float = 60.0) -> None:
    """Return once the broker answers metadata requests."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = admin(settings, bootstrap_timeout_ms=5_000)
            client.list_topics()
            client.close()
            return
        except (KafkaUnavailable, KafkaError) as error:
            if time.monotonic() > deadline:
                raise KafkaUnavailable(
                    f"the broker at {settings.bootstrap} did not answer within {timeout:.0f} s: "
                    f"{error}"
                ) from None
            time.sleep(0.5)


def topic_specs(settings: Settings) -> dict[str, int]:
    """Topic name -> partitions. Statements are keyed by learner, so a learner stays ordered."""
    return {settings.statements_topic: settings.partitions, settings.dlq_topic: 1}


def ensure_topics(settings: Settings, timeout: float = 60.0) -> None:
    """Create the topics that do not exist yet and wait until they have leaders."""
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        wanted = [
            NewTopic(name, partitions, 1)
            for name, partitions in topic_specs(settings).items()
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another client won the race
                client.create_topics(wanted)
    finally:
        client.close()
    deadline = time.monotonic() + timeout
    probe = consumer(settings)
    try:
        for name in topic_specs(settings):
            while not probe.partitions_for_topic(name):
                if time.monotonic() > deadline:
                    raise KafkaUnavailable(f"topic {name} has no leader after {timeout:.0f} s")
                time.sleep(0.2)
                probe.poll(timeout_ms=0)
    finally:
        probe.close()


def partitions(settings: Settings, topic: str, client: KafkaConsumer) -> list[TopicPartition]:
    ids = client.partitions_for_topic(topic)
    if not ids:
        raise KafkaUnavailable(
            f"topic {topic} does not exist at {settings.bootstrap}; run `skillstream up`"
        )
    return [TopicPartition(topic, partition) for partition in sorted(ids)]


def offsets(
    settings: Settings, topic: str, client: KafkaConsumer | None = None
) -> dict[int, tuple[int, int]]:
    """Partition -> (beginning offset, end offset) of a topic."""
    own = client is None
    client = client or consumer(settings)
    try:
        tps = partitions(settings, topic, client)
        beginning = client.beginning_offsets(tps)
        end = client.end_offsets(tps)
        return {tp.partition: (beginning[tp], end[tp]) for tp in tps}
    finally:
        if own:
            client.close()


def wait_acknowledged(futures: Iterable[Any], timeout: float = 60.0) -> list[Exception]:
    """Wait for every send; return the errors (an empty list means all were acknowledged)."""
    errors: list[Exception] = []
    for future in futures:
        try:
            future.get(timeout=timeout)
        except KafkaError as error:
            errors.append(error)
    return errors


# A record as the transform reads it: (offset, value, the `source` header, timestamp in ms).
Record = tuple[int, bytes | None, str | None, int]


def _source(headers: Any) -> str | None:
    """The first `source` header's value: ingestion names where each record came from.
    Bytes that are not UTF-8 read as U+FFFD: an odd header never stops the transform."""
    for key, value in headers or ():
        if key == "source" and isinstance(value, bytes):
            return value.decode(errors="replace")
    return None


def _librdkafka_config(settings: Settings) -> dict[str, Any]:
    """How the transform's reader reads partitions."""
    return {
        "bootstrap.servers": settings.bootstrap,
        # librdkafka wants a group id; the reader never joins the group or commits to it
        "group.id": "skillstream-transform",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "auto.offset.reset": "earliest",
        # the plan's end offsets are high watermarks (kafka-python's `end_offsets`): a reader
        # of committed records only could stop short of them behind an open transaction
        "isolation.level": "read_uncommitted",
        "fetch.max.bytes": 64 * 1024 * 1024,
        "max.partition.fetch.bytes": 16 * 1024 * 1024,
        # at the end of the log the broker answers a fetch after this long (default 500)
        "fetch.wait.max.ms": 100,
        "socket.timeout.ms": 30_000,
        "logger": logging.getLogger("kafka.librdkafka"),
    }


class PartitionReader:
    """Reads one partition at a time from a given offset, in offset order, without a group:
    librdkafka's consumer. It skips control records without a trace, so the position comes
    from the records it delivers and from its end-of-partition events (which carry the end)."""

    def __init__(self, settings: Settings) -> None:
        # confluent-kafka is imported where it reads (~50 ms), not by every command
        from confluent_kafka import Consumer, KafkaException

        self._consumer = Consumer(_librdkafka_config(settings))
        try:  # fail at once when no broker answers, not at the first read
            self._consumer.list_topics(timeout=BOOTSTRAP_TIMEOUT_MS / 1000)
        except KafkaException as error:
            self._consumer.close()
            raise _unavailable(settings, error) from None
        self._position = 0

    def seek(self, topic: str, partition: int, offset: int) -> None:
        """Read `topic[partition]` from `offset` on."""
        from confluent_kafka import TopicPartition as ConfluentTopicPartition

        self._consumer.assign([ConfluentTopicPartition(topic, partition, offset)])
        self._position = offset

    def read(self, max_records: int, timeout: float) -> tuple[list[Record], int]:
        """Up to `max_records` records (waiting up to `timeout` seconds for them) and the
        position after them: the next offset to read, past any control records, so a reader
        of an offset range knows when it has reached the range's end."""
        from confluent_kafka import KafkaError as ConfluentError
        from confluent_kafka import KafkaException

        records: list[Record] = []
        for message in self._consumer.consume(num_messages=max_records, timeout=timeout):
            error = message.error()
            offset = message.offset()
            if error is None and offset is not None:
                records.append(
                    (offset, message.value(), _source(message.headers()), message.timestamp()[1])
                )
                self._position = offset + 1
            elif error is None:
                continue
            elif error.code() == ConfluentError._PARTITION_EOF:
                self._position = max(self._position, offset or 0)
            elif error.fatal():
                raise KafkaException(error)
            # anything else (a broker going away, a leader moving) librdkafka retries itself
        return records, self._position

    def close(self) -> None:
        self._consumer.close()
