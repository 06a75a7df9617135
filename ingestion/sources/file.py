"""The file source: statements from `.json` (one statement or an array), `.ndjson`/`.jsonl`
(one statement per line), each optionally gzip-compressed."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import orjson

from skillstream.ingestion.sources import RawEvent

NDJSON_SUFFIXES = {".ndjson", ".jsonl"}


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _format_of(path: Path) -> str:
    suffix = Path(path.stem).suffix if path.suffix == ".gz" else path.suffix
    return "ndjson" if suffix in NDJSON_SUFFIXES else "json"


def _lines(path: Path) -> Iterator[RawEvent]:
    with _open(path) as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            origin = f"{path}:{number}"
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError as error:
                yield RawEvent(text, origin, f"line {number}: malformed JSON: {error}")
                continue
            if not isinstance(value, dict):
                yield RawEvent(text, origin, f"line {number}: a statement must be a JSON object")
                continue
            yield RawEvent(text, origin, statement=value)


def _document(path: Path, content: bytes) -> Iterator[RawEvent] | None:
    """Events of a whole-file JSON document, or None when the file is not one document."""
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, dict):
        return iter([RawEvent(orjson.dumps(value), f"{path}", statement=value)])
    if isinstance(value, list):
        return (
            RawEvent(orjson.dumps(item), f"{path}[{index}]", statement=item)
            if isinstance(item, dict)
            else RawEvent(
                orjson.dumps(item),
                f"{path}[{index}]",
                f"[{index}]: a statement must be a JSON object",
            )
            for index, item in enumerate(value)
        )
    return iter([RawEvent(content, f"{path}", "a statement file must hold an object or an array")])


def _first_line_is_object(content: bytes) -> bool:
    for line in content.splitlines():
        if line.strip():
            try:
                return isinstance(orjson.loads(line), dict)
            except orjson.JSONDecodeError:
                return False
    return False


def read_file(path: Path) -> Iterator[RawEvent]:
    """Every event of one file, in order; unreadable ones carry their reason."""
    if _format_of(path) == "ndjson":
        yield from _lines(path)
        return
    with _open(path) as handle:
        content = handle.read()
    document = _document(path, content)
    if document is not None:
        yield from document
    elif _first_line_is_object(content):
        # NDJSON under a .json name: read it line by line, so each bad line stands alone.
        yield from _lines(path)
    else:
        try:
            orjson.loads(content)
        except orjson.JSONDecodeError as error:
            yield RawEvent(content, f"{path}", f"malformed JSON: {error}")
