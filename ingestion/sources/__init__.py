"""Event sources. Each yields raw events; the producer sends them to Kafka."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RawEvent:
    """One event as a source read it.

    `payload` is the statement's JSON bytes, or the unparseable bytes when `error` says why
    it could not be read; `origin` tells a person where it came from (file and line);
    `statement` is the parsed JSON object when the source already parsed it.
    """

    payload: bytes
    origin: str
    error: str | None = None
    statement: dict[str, Any] | None = None
