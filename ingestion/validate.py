"""`skillstream validate`: offline xAPI validation of statement files, one report per event."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from skillstream.ingestion.sources import RawEvent
from skillstream.ingestion.sources.file import read_content, read_file
from skillstream.xapi.validate import validate_statement


def _parse_reason(event: RawEvent) -> str:
    """The reason an event could not be read, without the `line N: ` / `[i]: ` prefix."""
    reason = event.error or ""
    for prefix in (f"line {event.index + 1}: ", f"[{event.index}]: "):
        if reason.startswith(prefix):
            return reason[len(prefix) :]
    return reason


def report(event: RawEvent, version: str) -> dict[str, Any]:
    if event.error is not None:
        return {
            "index": event.index,
            "id": None,
            "valid": False,
            "errors": [f"$: {_parse_reason(event)}"],
        }
    statement = event.statement or {}
    errors = validate_statement(statement, version=version)
    statement_id = statement.get("id")
    return {
        "index": event.index,
        "id": statement_id if isinstance(statement_id, str) else None,
        "valid": not errors,
        "errors": errors,
    }


def validate_path(path: str, version: str = "2.0.0") -> Iterator[dict[str, Any]]:
    """Reports for every event of a file (`-` reads standard input)."""
    events = (
        read_content(sys.stdin.buffer.read(), "<stdin>") if path == "-" else read_file(Path(path))
    )
    for event in events:
        yield report(event, version)
