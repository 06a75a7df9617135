"""The reference normaliser: raw Kafka record -> a row of `raw.statements`, or a rejection.

Pure Python, free of Beam, so that the worker processes which run it start in a fraction of
a second (importing Beam costs seconds of CPU). The compiled normaliser
(`transforms/native_bridge.py`) is held to it by the differential tests; the
`NormaliseBatches` DoFn that applies either to whole batches is in `pipeline.py`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from skillstream.xapi.identity import (
    agent_learner_id,
    pseudonymised_statement,
    scrubbed_payload,
    scrubbed_text,
)
from skillstream.xapi.profile import COURSE_TYPE, EXT_ATTRIBUTES, EXT_SKILL, VOIDED_VERB
from skillstream.xapi.statements import (
    content_hash,
    derived_statement_id,
    duration_seconds,
    parse_validated_timestamp,
)
from skillstream.xapi.strict_json import JsonInputError, loads
from skillstream.xapi.validate import validate_statement


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _activities(statement: dict[str, Any]) -> Iterable[dict[str, Any]]:
    target = statement.get("object") or {}
    if target.get("objectType", "Activity") == "Activity":
        yield target
    context_activities = (statement.get("context") or {}).get("contextActivities") or {}
    for key in ("parent", "grouping", "category", "other"):
        for activity in _as_list(context_activities.get(key)):
            if isinstance(activity, dict):
                yield activity


def _ids(context_activities: dict[str, Any], key: str) -> list[str]:
    return [
        a["id"]
        for a in _as_list(context_activities.get(key))
        if isinstance(a, dict) and isinstance(a.get("id"), str)
    ]


def _extension_sources(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """Extension maps in order of precedence: statement context, then the object's definition."""
    sources = []
    context_ext = (statement.get("context") or {}).get("extensions")
    if isinstance(context_ext, dict):
        sources.append(context_ext)
    definition = (statement.get("object") or {}).get("definition") or {}
    if isinstance(definition.get("extensions"), dict):
        sources.append(definition["extensions"])
    return sources


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    kind = type(value)  # JSON numbers are exactly int or float; bool is neither here
    return float(value) if kind is float or kind is int else None


def normalise(
    statement: dict[str, Any],
    salt: str,
    partition: int,
    offset: int,
    source: str | None,
    received: datetime,
) -> tuple:
    """One valid statement as a row in STATEMENT_COLUMNS order.

    `received` is the Kafka record's timestamp (UTC): `stored_at` when the statement has no
    `stored`, and `kafka_timestamp`, from which freshness (in Kafka -> in DuckDB) is measured.
    """
    learner = agent_learner_id(statement["actor"], salt)
    # What is stored, hashed and read below names no one (no name, no email; docs/privacy.md).
    # The content hash is of it too: of the original, an unsalted hash would confirm a guessed
    # email against the stored statement.
    statement = pseudonymised_statement(statement, salt)
    statement_hash = content_hash(statement)
    statement_id = statement.get("id") or derived_statement_id(statement)
    target = statement["object"]
    object_type = target.get("objectType", "Activity")
    definition = target.get("definition") or {}
    context_activities = (statement.get("context") or {}).get("contextActivities") or {}
    declared_courses = sorted(
        {
            a["id"]
            for a in _activities(statement)
            if isinstance(a.get("id"), str)
            and (a.get("definition") or {}).get("type") == COURSE_TYPE
        }
    )
    extensions = _extension_sources(statement)
    skills: list[str] = []
    attributes: dict[str, str | None] = dict.fromkeys(EXT_ATTRIBUTES)
    for ext in extensions:
        for skill in _as_list(ext.get(EXT_SKILL)):
            if isinstance(skill, str) and skill and skill not in skills:
                skills.append(skill)
        for name, iri in EXT_ATTRIBUTES.items():
            if attributes[name] is None:  # the first source that names it wins
                attributes[name] = _text(ext.get(iri))
    result = statement.get("result") or {}
    score = result.get("score") or {}
    duration = result.get("duration")
    verb_id = statement["verb"]["id"]
    stored_at = (
        parse_validated_timestamp(statement["stored"]) if "stored" in statement else received
    )
    occurred_at = (
        parse_validated_timestamp(statement["timestamp"]) if "timestamp" in statement else stored_at
    )
    return (
        statement_id,
        learner,
        verb_id,
        target.get("id") if object_type in ("Activity", "StatementRef") else None,
        object_type,
        _text(definition.get("type")),
        declared_courses,
        _ids(context_activities, "parent"),
        _ids(context_activities, "grouping"),
        skills,
        attributes["cohort"],
        attributes["org"],
        attributes["team"],
        attributes["role"],
        _number(score.get("scaled")),
        _number(score.get("raw")),
        _number(score.get("min")),
        _number(score.get("max")),
        result.get("success") if isinstance(result.get("success"), bool) else None,
        result.get("completion") if isinstance(result.get("completion"), bool) else None,
        _text(result.get("response")),
        duration_seconds(duration) if isinstance(duration, str) else None,
        target.get("id") if verb_id == VOIDED_VERB and object_type == "StatementRef" else None,
        occurred_at,
        stored_at,
        source,
        partition,
        offset,
        statement_hash,
        orjson.dumps({**statement, "id": statement_id}).decode(),
        received,
    )


def _utc(timestamp_ms: int) -> datetime:
    """A Kafka record timestamp (ms since the epoch) as a naive UTC datetime."""
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC).replace(tzinfo=None)


def _normalise_payload(
    payload: bytes,
    offset: int,
    source: str | None,
    received: datetime,
    partition: int,
    salt: str,
) -> tuple[tuple | None, tuple | None]:
    def reject(reasons: list[str], statement_id: Any = None) -> tuple[None, tuple]:
        sid = statement_id.lower() if isinstance(statement_id, str) else None
        reasons = [scrubbed_text(reason, salt) for reason in reasons]
        return None, (partition, offset, sid, source, reasons, scrubbed_payload(payload, salt))

    try:
        statement = loads(payload)  # strict JSON, as at ingestion: duplicate keys are refused
    except JsonInputError as error:
        return reject([f"$: {error}"])
    errors = validate_statement(statement)
    if errors:
        return reject(errors, statement.get("id") if isinstance(statement, dict) else None)
    try:
        return normalise(statement, salt, partition, offset, source, received), None
    except (KeyError, TypeError, ValueError, OverflowError) as error:  # a rule the validator lacks
        return reject([f"$: cannot be normalised: {error!r}"], statement.get("id"))


def normalise_chunk(
    records: list[tuple[int, bytes | None, str | None, int]], partition: int, salt: str
) -> tuple[list[tuple], list[tuple]]:
    """(rows, rejects) of (offset, value, source, timestamp_ms) records: a worker's share."""
    rows, rejects = [], []
    with without_cyclic_gc():
        for _, row, reject in normalised_at(records, range(len(records)), partition, salt):
            if row is not None:
                rows.append(row)
            elif reject is not None:
                rejects.append(reject)
    return rows, rejects


def normalised_at(
    records: list[tuple[int, bytes | None, str | None, int]],
    positions: Iterable[int],
    partition: int,
    salt: str,
) -> Iterator[tuple[int, tuple | None, tuple | None]]:
    """(position, row, reject) of the records at `positions`, the Python way."""
    received: dict[int, datetime] = {}  # records of a batch share a few timestamps
    for position in positions:
        offset, value, source, timestamp_ms = records[position]
        at = received.get(timestamp_ms)
        if at is None:
            at = received[timestamp_ms] = _utc(timestamp_ms)
        row, reject = _normalise_payload(value or b"", offset, source, at, partition, salt)
        yield position, row, reject


@contextlib.contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Parsed JSON, rows and their Arrow columns hold no reference cycles, so reference
    counting frees them all; the cyclic collector would only walk the growing rows again and
    again (~20 % of a worker's time)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def normalise_records(
    records: list[tuple[int, bytes | None, str | None, int]], partition: int, salt: str
) -> list[tuple[int, tuple | None, tuple | None]]:
    """(index, row, reject) of each record, the Python way: a worker process's share of the
    records the compiled normaliser declined."""
    with without_cyclic_gc():
        return list(normalised_at(records, range(len(records)), partition, salt))
