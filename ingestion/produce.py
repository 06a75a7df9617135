"""Producing to Kafka: statements to `xapi.statements` keyed by learner, unreadable events
to `xapi.dlq` with where they came from and why."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from skillstream import kafka
from skillstream.ingestion.sources import RawEvent
from skillstream.settings import Settings
from skillstream.xapi.identity import IdentityError, canonical_ifi, learner_id


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
        return learner_id(canonical_ifi(statement.get("actor")), salt).encode()
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


class StatementProducer:
    """Sends events of one source; `close()` returns once Kafka acknowledged every send."""

    def __init__(self, settings: Settings, source: str, **producer_config: Any) -> None:
        self._settings = settings
        self._source = source
        self._salt = settings.learner_salt()
        self._producer = kafka.producer(settings, **producer_config)
        self._lock = threading.Lock()
        self.counts = ProduceCounts()

    def _on_error(self, origin: str):
        def record(error: Exception) -> None:
            with self._lock:
                self.counts.failed.append(f"{origin}: {error}")

        return record

    def send(self, event: RawEvent) -> None:
        headers = [("source", self._source.encode()), ("origin", event.origin.encode())]
        if event.error is not None:
            future = self._producer.send(
                self._settings.dlq_topic,
                key=event.origin.encode(),
                value=dead_letter(
                    self._source,
                    event.origin,
                    [event.error],
                    event.payload.decode("utf-8", errors="replace"),
                ),
                headers=headers,
            )
            self.counts.dead_letters += 1
        else:
            future = self._producer.send(
                self._settings.statements_topic,
                key=partition_key(event.statement, self._salt),
                value=event.payload,
                headers=headers,
            )
            self.counts.statements += 1
        future.add_errback(self._on_error(event.origin))

    def checkpoint(self, timeout: float = 120.0) -> None:
        """Return once Kafka acknowledged every send so far; raise if any failed."""
        self._producer.flush(timeout=timeout)
        self._raise_failures()

    def _raise_failures(self) -> None:
        if self.counts.failed:
            shown = "\n".join(self.counts.failed[:10])
            raise ProduceError(
                f"Kafka did not acknowledge {len(self.counts.failed)} event(s):\n{shown}"
            )

    def close(self, timeout: float = 120.0) -> ProduceCounts:
        try:
            self._producer.flush(timeout=timeout)
        finally:
            self._producer.close(timeout=timeout)
        self._raise_failures()
        return self.counts
