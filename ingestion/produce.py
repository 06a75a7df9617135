"""Producing to Kafka: statements to `xapi.statements` keyed by learner, unreadable events
to `xapi.dlq` with where they came from and why."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from skillstream import kafka
from skillstream.ingestion.sources import RawEvent
from skillstream.settings import Settings
from skillstream.xapi.identity import IdentityError, agent_learner_id

# Sends between two services of delivery reports: each service costs about a send's time.
POLL_EVERY = 1_000


class ProduceError(RuntimeError):
    """Kafka did not acknowledge some sends."""


@dataclass
class ProduceCounts:
    statements: int = 0
    dead_letters: int = 0
    failed: list[str] = field(default_factory=list)


def partition_key(statement: dict[str, Any] | None, salt: str) -> bytes | None:
    """The learner id of the statement's actor; None when the actor names no learner."""
    if statement is None:
        return None
    try:
        actor = orjson.dumps(statement.get("actor"))
    except orjson.JSONEncodeError:  # nested deeper than orjson writes: no learner of ours
        return None
    return _actor_key(actor, salt)


@functools.lru_cache(maxsize=65536)  # a stream names the same actors again and again
def _actor_key(actor: bytes, salt: str) -> bytes | None:
    try:
        return agent_learner_id(orjson.loads(actor), salt).encode()
    except IdentityError:
        return None


def dead_letter(
    source: str | None,
    origin: str,
    reasons: list[str],
    payload: str,
    *,
    stage: str = "ingest",
    statement_id: str | None = None,
) -> bytes:
    """A message of `xapi.dlq`, as ingestion and the transform (transforms/land.py) write it
    and `skillstream dlq` reads it: where the event came from, the stage that refused it and
    why, and the event as received."""
    return orjson.dumps(
        {
            "source": source,
            "origin": origin,
            "stage": stage,
            "statement_id": statement_id,
            "reason": "; ".join(reasons),
            "reasons": reasons,
            "payload": payload,
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )


class _KeyedRefusals:
    """The reports of the sends of one `send_keyed` call Kafka refused, each naming its
    line: found by the statement the report carries, among the rows (kept until librdkafka
    let go of the last report callback, that is until every send of them was settled)."""

    def __init__(self, name: str, rows: list[tuple[int, bytes, bytes]], failed: list[str]):
        self._name, self._rows, self._failed = name, rows, failed
        self._lines: dict[bytes, int] | None = None

    def refused(self, error: Any, message: Any) -> None:
        if error is None:
            return
        if self._lines is None:  # the first refusal: the rows by statement (first line of each)
            self._lines = {value: index + 1 for index, value, _ in reversed(self._rows)}
        line = self._lines.get(message.value() or b"")
        where = f"{self._name}:{line}" if line is not None else self._name
        self._failed.append(f"{where}: {error.str()}")


class StatementProducer:
    """Sends events of one source; `close()` returns once Kafka acknowledged every send.

    librdkafka (`kafka.librdkafka_producer`) batches and sends in its own threads, so a send
    costs a few microseconds of Python; its delivery reports (run by `poll` and `flush`) name
    the origin of each send Kafka refused."""

    def __init__(self, settings: Settings, source: str, **producer_config: Any) -> None:
        self._settings = settings
        self._source = source.encode()
        self._salt = settings.learner_salt()
        # `flush` waits for every acknowledgement; only a refused send needs a report
        config = {"delivery.report.only.error": True, **producer_config}
        self._producer = kafka.librdkafka_producer(settings, **config)
        self.counts = ProduceCounts()
        self._unpolled = 0

    def _delivered(self, origin: str, error: Any, message: Any) -> None:
        if error is not None:
            self.counts.failed.append(f"{origin}: {error.str()}")

    def send(self, event: RawEvent) -> None:
        headers = [("source", self._source), ("origin", event.origin.encode())]
        if event.error is not None:
            topic, key = self._settings.dlq_topic, event.origin.encode()
            value = dead_letter(
                self._source.decode(),
                event.origin,
                [event.error],
                event.payload.decode("utf-8", errors="replace"),
            )
            self.counts.dead_letters += 1
        else:
            topic, key = self._settings.statements_topic, partition_key(event.statement, self._salt)
            value = event.payload
            self.counts.statements += 1
        while True:
            try:
                self._producer.produce(
                    topic,
                    value,
                    key,
                    headers=headers,
                    on_delivery=functools.partial(self._delivered, event.origin),
                )
                break
            except BufferError:  # librdkafka's queue is full: wait for some acknowledgements
                self._producer.poll(0.1)
        self._unpolled += 1
        if self._unpolled >= POLL_EVERY:
            self._producer.poll(0)
            self._unpolled = 0

    def send_keyed(self, name: str, rows: list[tuple[int, bytes, bytes]]) -> None:
        """Statements of file `name` already parsed and keyed (`ingestion/intake.py`), as
        (line index, statement, learner key): the loop `send` runs, without the parsing."""
        produce, topic = self._producer.produce, self._settings.statements_topic
        source, prefix = self._source, f"{name}:".encode()
        # one report callback for the rows: making one for each send costs ~1 µs of ~9
        refused = _KeyedRefusals(name, rows, self.counts.failed).refused
        for index, value, key in rows:
            headers = [("source", source), ("origin", b"%s%d" % (prefix, index + 1))]
            try:
                produce(topic, value, key, headers=headers, on_delivery=refused)
            except BufferError:  # librdkafka's queue is full: wait for some acknowledgements
                self._produce_when_room(topic, value, key, headers, refused)
        self.counts.statements += len(rows)
        self._producer.poll(0)

    def _produce_when_room(self, topic: str, value: bytes, key: bytes, *rest: Any) -> None:
        headers, on_delivery = rest
        while True:
            self._producer.poll(0.1)
            try:
                self._producer.produce(topic, value, key, headers=headers, on_delivery=on_delivery)
                return
            except BufferError:
                continue

    def checkpoint(self, timeout: float = 120.0) -> None:
        """Return once Kafka acknowledged every send so far; raise if any failed."""
        self._flush(timeout)
        self._raise_failures()

    def _flush(self, timeout: float) -> None:
        unacknowledged = self._producer.flush(timeout)
        if unacknowledged:
            self.counts.failed.append(
                f"{unacknowledged} event(s) not acknowledged within {timeout:.0f} s"
            )

    def _raise_failures(self) -> None:
        if self.counts.failed:
            shown = "\n".join(self.counts.failed[:10])
            raise ProduceError(
                f"Kafka did not acknowledge {len(self.counts.failed)} event(s):\n{shown}"
            )

    def close(self, timeout: float = 120.0) -> ProduceCounts:
        self._flush(timeout)
        self._raise_failures()
        return self.counts
