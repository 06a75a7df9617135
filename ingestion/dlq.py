"""Dead letters (`xapi.dlq`): reading them, and replaying them once their cause is fixed.

A dead letter is an event that did not become a statement: a source could not read or map
it (ingestion), or the transform refused the statement it was (`stage: transform`, also
kept in `raw.quarantine`). Each is one JSON message (`ingestion/produce.py`,
`transforms/land.py`): source, origin, reason, payload, received_at. A letter is named by
its place on the topic, `PARTITION:OFFSET`.

Replay runs a letter again through what refused it: the source's `mapping` for a source
that maps records, else the xAPI validator. What now passes goes to `xapi.statements` with
the letter's source and origin; once Kafka acknowledged it, the letter is marked replayed
in `SKILLSTREAM_HOME/dlq/` and no later replay sends it again. (A crash between the
acknowledgement and the mark can send a letter twice; its statement has the same id, or
the same content and so the same derived id, and lands once.)
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from skillstream import kafka
from skillstream.ingestion.produce import StatementProducer
from skillstream.ingestion.sources import (
    RawEvent,
    Record,
    RecordMapping,
    SourceError,
    StatementSource,
    installed_names,
    load_source,
)
from skillstream.settings import Settings
from skillstream.xapi.strict_json import JsonInputError, loads
from skillstream.xapi.validate import validate_statement


class DeadLetterError(ValueError):
    """A dead letter that is not on the topic, or a filter that cannot be read."""


@dataclass(frozen=True)
class DeadLetter:
    id: str  # PARTITION:OFFSET on the dead-letter topic
    source: str
    origin: str
    reason: str
    received_at: str
    stage: str  # "ingest" (a source refused it) or "transform" (the validator did)
    payload: str
    replayed_at: str | None = None

    def summary(self) -> dict[str, Any]:
        """What `dlq list --json` shows of a letter (everything but the payload)."""
        return {k: v for k, v in asdict(self).items() if k != "payload"}

    def line(self) -> str:
        """The letter as one line of `dlq list`."""
        mark = f" [replayed {self.replayed_at}]" if self.replayed_at else ""
        return f"{self.id}  {self.received_at}  {self.source}  {self.origin}: {self.reason}{mark}"

    def lines(self) -> list[str]:
        """The letter as `dlq show` prints it: one `field: value` a line, the payload last."""
        fields = {**self.summary(), "payload": self.payload}
        return [f"{key}: {'' if value is None else value}" for key, value in fields.items()]


def letter_of(partition: int, offset: int, value: bytes | None, headers: Any) -> DeadLetter:
    """A message of the dead-letter topic as a letter; one that is not a skillstream dead
    letter is still listed, with its bytes and that reason."""
    try:
        body = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        source = dict(headers or []).get("source", b"").decode("utf-8", "replace")
        body = {
            "source": source,
            "reason": "not a skillstream dead letter (no JSON object)",
            "payload": (value or b"").decode("utf-8", "replace"),
        }
    return DeadLetter(
        id=f"{partition}:{offset}",
        source=str(body.get("source") or ""),
        origin=str(body.get("origin") or ""),
        reason=str(body.get("reason") or ""),
        received_at=str(body.get("received_at") or ""),
        stage=str(body.get("stage") or "ingest"),
        payload=str(body.get("payload") or ""),
    )


def read_letters(settings: Settings) -> Iterator[DeadLetter]:
    """Every letter on the dead-letter topic, oldest first, with its replay mark."""
    marks = ReplayMarks(settings).load()
    consumer = kafka.consumer(settings)
    try:
        parts = kafka.partitions(settings, settings.dlq_topic, consumer)
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        end = consumer.end_offsets(parts)
        while any(consumer.position(tp) < end[tp] for tp in parts):
            for records in consumer.poll(timeout_ms=1000).values():
                for r in records:
                    letter = letter_of(r.partition, r.offset, r.value, r.headers)
                    replayed = marks.get(letter.id)
                    yield DeadLetter(**{**asdict(letter), "replayed_at": replayed})
    finally:
        consumer.close()


def since_time(text: str) -> datetime:
    """`--since`: an RFC 3339 time or a date (UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise DeadLetterError(f"--since {text!r}: not a date or RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def selected(
    settings: Settings, source: str | None = None, since: datetime | None = None
) -> Iterator[DeadLetter]:
    """The letters of `source` received at or after `since` (all when None)."""
    for letter in read_letters(settings):
        if source is not None and letter.source != source:
            continue
        if since is not None and not _received_since(letter, since):
            continue
        yield letter


def _received_since(letter: DeadLetter, since: datetime) -> bool:
    try:
        return datetime.fromisoformat(letter.received_at) >= since
    except ValueError:
        return False


def find(settings: Settings, letter_id: str) -> DeadLetter:
    """The letter `PARTITION:OFFSET` (a bare OFFSET means partition 0)."""
    wanted = letter_id if ":" in letter_id else f"0:{letter_id}"
    for letter in read_letters(settings):
        if letter.id == wanted:
            return letter
    raise DeadLetterError(f"no dead letter {wanted} on {settings.dlq_topic}")


def without_location(reason: str) -> str:
    """A reason without its `line 7: ` / `[3]: ` prefix, so letters group by cause."""
    head, separator, rest = reason.partition(": ")
    if separator and (head.startswith("line ") or head.startswith("[")):
        return rest
    return reason


def by_reason(letters: Iterator[DeadLetter]) -> list[dict[str, Any]]:
    """Letters not replayed, counted by source and reason, most first."""
    counts: Counter[tuple[str, str]] = Counter()
    latest: dict[tuple[str, str], str] = {}
    for letter in letters:
        if letter.replayed_at is not None:
            continue
        key = (letter.source, without_location(letter.reason))
        counts[key] += 1
        latest[key] = max(latest.get(key, ""), letter.received_at)
    return [
        {"source": s, "reason": r, "letters": n, "latest": latest[(s, r)]}
        for (s, r), n in counts.most_common()
    ]


class ReplayMarks:
    """Which letters of this dead-letter topic were replayed, and when:
    `SKILLSTREAM_HOME/dlq/<topic>.replayed.json`, written atomically."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.home / "dlq" / f"{settings.dlq_topic}.replayed.json"

    def load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        return dict(orjson.loads(self.path.read_bytes()))

    def add(self, letter_ids: list[str]) -> None:
        marks = self.load()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        marks.update(dict.fromkeys(letter_ids, now))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(orjson.dumps(marks, option=orjson.OPT_INDENT_2))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


def replayed(letter: DeadLetter, mapping: RecordMapping | None) -> RawEvent:
    """The letter run again through what refused it, `mapping` (its source's, None for a
    letter of statements) and then the validator: a RawEvent with the statement, or with
    `error` saying why it still fails."""
    origin = letter.origin or letter.id
    payload = letter.payload.encode()
    try:
        record = loads(payload)
    except JsonInputError as error:
        return RawEvent(payload, origin, f"$: {error}")
    if mapping is not None:
        if not isinstance(record, dict):
            return RawEvent(payload, origin, "the record is not a JSON object")
        try:
            record = mapping(Record(record))
        except (KeyError, TypeError, ValueError) as error:
            return RawEvent(payload, origin, str(error))
    errors = validate_statement(record)
    if errors:
        return RawEvent(payload, origin, "; ".join(errors))
    return RawEvent(orjson.dumps(record), origin, statement=record)


def mapping_of(letter: DeadLetter) -> RecordMapping | None:
    """What refused the letter besides the validator: its source's mapping; None for the
    transform's letters and for sources that read statements as they are (also `serve`,
    which is no plugin). A plugin that no longer loads refuses every letter, saying so."""
    if letter.stage == "transform" or letter.source not in installed_names():
        return None
    try:
        source = load_source(letter.source)
    except SourceError as error:
        reason = f"cannot replay: {error}"

        def refuse(record: Record) -> dict[str, Any]:
            raise ValueError(reason)

        return refuse
    return source.mapping if isinstance(source, StatementSource) else None


@dataclass
class ReplayResult:
    replayed: int = 0
    still_failing: int = 0
    already_replayed: int = 0
    failures: list[tuple[DeadLetter, str]] = field(default_factory=list)

    def summary(self, settings: Settings) -> dict[str, Any]:
        return {
            "replayed": self.replayed,
            "still_failing": self.still_failing,
            "already_replayed": self.already_replayed,
            "topic": settings.statements_topic,
        }


def _close_all(producers: Iterable[StatementProducer]) -> None:
    """Close every producer; raise the first failure (some send not acknowledged), so
    that nothing is marked replayed."""
    failure: Exception | None = None
    for producer in producers:
        try:
            producer.close()
        except Exception as error:  # noqa: BLE001 - the others must still close
            failure = failure or error
    if failure is not None:
        raise failure


def replay(
    settings: Settings, source: str | None = None, since: datetime | None = None
) -> ReplayResult:
    """Send what now passes of the selected letters not replayed before, then mark them."""
    result = ReplayResult()
    mappings: dict[tuple[str, str], RecordMapping | None] = {}
    producers: dict[str, StatementProducer] = {}
    sent: list[str] = []
    try:
        for letter in selected(settings, source, since):
            if letter.replayed_at is not None:
                result.already_replayed += 1
                continue
            key = (letter.stage, letter.source)
            if key not in mappings:
                mappings[key] = mapping_of(letter)
            event = replayed(letter, mappings[key])
            if event.error is not None:
                result.still_failing += 1
                result.failures.append((letter, event.error))
                continue
            if letter.source not in producers:
                producers[letter.source] = StatementProducer(settings, letter.source or "dlq")
            producers[letter.source].send(event)
            sent.append(letter.id)
    finally:
        _close_all(producers.values())
    ReplayMarks(settings).add(sent)
    result.replayed = len(sent)
    return result
