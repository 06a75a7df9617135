"""Statement identity and content: ids, immutability hashes, time and duration values."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

# Properties the LRS sets; they do not change what a statement says (xAPI statement comparison).
LRS_SET_PROPERTIES = ("stored", "authority", "version")
_ID_NAMESPACE = uuid.UUID("0b6a2c1e-3f59-4d7e-9a1c-5e7d2b8f4c60")
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+(?:\.\d+)?)Y)?(?:(?P<months>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS = {
    "years": 365.25 * 86400,
    "months": 30.44 * 86400,
    "weeks": 7 * 86400,
    "days": 86400,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}


def canonical_json(statement: dict[str, Any]) -> bytes:
    return orjson.dumps(statement, option=orjson.OPT_SORT_KEYS)


def content_hash(statement: dict[str, Any]) -> str:
    """What a statement says, for immutability: same id + same hash means the same statement."""
    content = {k: v for k, v in statement.items() if k not in LRS_SET_PROPERTIES and k != "id"}
    return hashlib.sha256(canonical_json(content)).hexdigest()


def derived_statement_id(statement: dict[str, Any]) -> str:
    """The id of a statement that came without one, derived from its content.

    Deterministic, so replaying a file or a topic assigns the same id again and lands
    nothing twice.
    """
    return str(uuid.uuid5(_ID_NAMESPACE, content_hash(statement)))


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 / RFC 3339 timestamp as a naive UTC datetime (a zone-less value is UTC)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def duration_seconds(value: str) -> float:
    """An ISO 8601 duration (`PT1H30M`, `P1DT2H`, `PT4.5S`) in seconds."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{value!r} is not an ISO 8601 duration")
    return sum(
        float(amount) * _SECONDS[unit] for unit, amount in match.groupdict().items() if amount
    )
