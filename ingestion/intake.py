"""`skillstream ingest file`'s fast path: NDJSON files read by the compiled module.

`scan_ndjson` (transforms/native/src/intake.rs) splits a piece of a file into lines, parses
each strictly and computes its partition key, so the runner hands librdkafka whole runs of
keyed statements (`KeyedLines`) with no Python per statement but the send. A line it is not
sure of goes to the file source's own reader (`sources/file.py`), which decides and words
the reason, so every event, statement or dead letter, is what the file source makes of it
(tests/ingestion/test_intake.py holds the two equal). Files that are not NDJSON, and every
file without the compiled module (or with SKILLSTREAM_NATIVE=0), take the file source's path.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeAlias

from skillstream import native
from skillstream.ingestion.sources import Checkpoint, RawEvent, SourceContext, StatementSource
from skillstream.ingestion.sources import file as file_source

# Bytes handed to the compiled module at a time: a few thousand statements.
CHUNK_BYTES = 4 * 1024 * 1024

Row = tuple[int, bytes, bytes]  # a line's index in its file, its statement, its learner key


@dataclass(frozen=True)
class KeyedLines:
    """Statements of file `name`, parsed and keyed: `rows` of (index, statement, key). The
    origin of each is `name:LINE`, as the file source names it."""

    name: str
    rows: list[Row]


Item: TypeAlias = KeyedLines | RawEvent | Checkpoint


def file_items(
    source: StatementSource, context: SourceContext, options: dict[str, Any]
) -> Iterator[Item] | None:
    """The items of a run of the file source, read by the compiled module; None when this
    path does not apply (another source, a file that is not NDJSON, no compiled module)."""
    module = native.compiled()
    paths: tuple[Path, ...] = options.get("paths", ())
    if (
        source is not file_source.source
        or module is None
        or not hasattr(module, "scan_ndjson")
        or not all(file_source._format_of(path) == "ndjson" for path in paths)
    ):
        return None
    return _items(context, paths, module.scan_ndjson)


def _items(context: SourceContext, paths: tuple[Path, ...], scan: Any) -> Iterator[Item]:
    cursor = file_source.FileCursor(context.cursor)
    salt = context.settings.learner_salt()
    for path in paths:
        start = cursor.start(path)
        read = since_checkpoint = 0
        with file_source._open(path) as handle:
            for rows, declined, read in _scanned(handle, start, salt, scan):
                yield from _split(str(path), rows, declined)
                since_checkpoint += len(rows)
                if since_checkpoint >= file_source.CHECKPOINT_EVERY:
                    yield cursor.checkpoint(path, max(read, start))
                    since_checkpoint = 0
        yield cursor.checkpoint(path, max(read, start))


def _scanned(
    handle: IO[bytes], start: int, salt: str, scan: Any
) -> Iterator[tuple[list[Any], list[int], int]]:
    """(rows, declined positions, lines read so far) of each piece of the file. The next
    piece is read and scanned in a thread (the compiled module lets go of the interpreter)
    while the runner sends this one's statements."""
    pieces = _Pieces(handle, start, salt, scan)
    with ThreadPoolExecutor(1, thread_name_prefix="scan-ndjson") as ahead:
        upcoming = ahead.submit(pieces.next)
        while (piece := upcoming.result()) is not None:
            upcoming = ahead.submit(pieces.next)
            yield piece


class _Pieces:
    """A file's pieces of `CHUNK_BYTES`, each cut after its last complete line, scanned."""

    def __init__(self, handle: IO[bytes], start: int, salt: str, scan: Any) -> None:
        self._handle, self._start, self._salt, self._scan = handle, start, salt, scan
        self._pending, self._lines, self._done = b"", 0, False

    def next(self) -> tuple[list[Any], list[int], int] | None:
        if self._done:
            return None
        chunk = self._handle.read(CHUNK_BYTES)
        text = self._pending + chunk if self._pending else chunk
        self._done = not chunk
        rows, declined, consumed, count = self._scan(
            text, self._lines, self._start, self._salt, self._done
        )
        self._lines += count
        self._pending = text[consumed:]
        return rows, declined, self._lines


def _split(name: str, rows: list[Any], declined: list[int]) -> Iterator[KeyedLines | RawEvent]:
    """The keyed runs of `rows`, and in their places the events the file source's reader
    makes of the lines the compiled module declined."""
    done = 0
    for position in declined:
        if position > done:
            yield KeyedLines(name, rows[done:position])
        index, text, _ = rows[position]
        yield file_source._parse(text, f"{name}:{index + 1}", index)
        done = position + 1
    if done < len(rows):
        yield KeyedLines(name, rows[done:] if done else rows)
