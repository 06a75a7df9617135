"""The file source: statements from `.json` (one statement or an array), `.ndjson`/`.jsonl`
(one statement per line), each optionally gzip-compressed; and the file readers every
source built on files shares (caliper, tutor, plugins such as docs/add-a-source.md's).

Resumable: the cursor (`FileCursor`) keeps, per file, how many events were produced and
acknowledged and a fingerprint of the file's head; a rerun after a crash skips what Kafka
already has (an appended NDJSON log continues where it stopped; a different file under the
same name starts over). `read_csv` reads a CSV export the same way.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import click
import orjson

from skillstream.ingestion.sources import (
    Checkpoint,
    MappingError,
    RawEvent,
    Record,
    RecordMapping,
    SourceContext,
    StatementSource,
)
from skillstream.xapi.strict_json import JsonInputError, loads

NDJSON_SUFFIXES = {".ndjson", ".jsonl"}
CHECKPOINT_EVERY = 10_000  # events between cursor writes (each waits for Kafka's acks)
_FINGERPRINT_BYTES = 64 * 1024


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _format_of(path: Path) -> str:
    suffix = Path(path.stem).suffix if path.suffix == ".gz" else path.suffix
    return "ndjson" if suffix in NDJSON_SUFFIXES else "json"


def _parse(text: bytes, origin: str, index: int) -> RawEvent:
    """The event of line `index` (from 0); a line that is not a statement says which."""
    try:
        value = loads(text)
    except JsonInputError as error:
        return RawEvent(text, origin, f"line {index + 1}: {error}", index=index)
    if not isinstance(value, dict):
        reason = f"line {index + 1}: a statement must be a JSON object"
        return RawEvent(text, origin, reason, index=index)
    return RawEvent(text, origin, statement=value, index=index)


def _lines(path: Path, start: int = 0) -> Iterator[RawEvent]:
    with _open(path) as handle:
        yield from _numbered(handle, str(path), start)


def _content_lines(content: bytes, name: str, start: int) -> Iterator[RawEvent]:
    return _numbered(content.splitlines(), name, start)


def _numbered(lines: Iterable[bytes], name: str, start: int) -> Iterator[RawEvent]:
    prefix = f"{name}:"
    for index, line in enumerate(lines):
        if index < start:
            continue
        text = line.strip()
        if text:
            yield _parse(text, prefix + str(index + 1), index)


def _document(path: str, content: bytes) -> list[RawEvent] | None:
    """Events of a whole-file JSON document, or None when the file is not one document."""
    try:
        value = loads(content)
    except JsonInputError:
        return None
    if isinstance(value, dict):
        return [RawEvent(content, f"{path}", statement=value)]
    if isinstance(value, list):
        return [
            RawEvent(orjson.dumps(item), f"{path}[{index}]", statement=item, index=index)
            if isinstance(item, dict)
            else RawEvent(
                orjson.dumps(item),
                f"{path}[{index}]",
                f"[{index}]: a statement must be a JSON object",
                index=index,
            )
            for index, item in enumerate(value)
        ]
    return [RawEvent(content, f"{path}", "a statement file must hold an object or an array")]


def _first_line_is_object(content: bytes) -> bool:
    for line in content.splitlines():
        if line.strip():
            try:
                return isinstance(loads(line), dict)
            except JsonInputError:
                return False
    return False


def read_file(path: Path, start: int = 0) -> Iterator[RawEvent]:
    """Every event of one file from position `start`, in order; unreadable ones carry
    their reason. Positions are lines (from 0) for NDJSON and elements for arrays."""
    if _format_of(path) == "ndjson":
        yield from _lines(path, start)
        return
    with _open(path) as handle:
        content = handle.read()
    yield from read_content(content, str(path), start)


def read_content(content: bytes, name: str, start: int = 0) -> Iterator[RawEvent]:
    """The events of JSON text that is one statement, an array of them, or NDJSON."""
    document = _document(name, content)
    if document is not None:
        yield from (event for event in document if event.index >= start)
    elif _first_line_is_object(content):
        # NDJSON under a .json name: read it line by line, so each bad line stands alone.
        yield from _content_lines(content, name, start)
    elif start == 0:
        try:
            loads(content)
        except JsonInputError as error:
            yield RawEvent(content, name, str(error))


def fingerprint(path: Path, length: int = _FINGERPRINT_BYTES) -> tuple[str, int]:
    """SHA-256 of the file's first `length` bytes (fewer if it is shorter), and how many."""
    with path.open("rb") as handle:
        head = handle.read(length)
    return hashlib.sha256(head).hexdigest(), len(head)


def _resume_at(path: Path, done: Mapping[str, Any]) -> int:
    """Where to resume a file read before: its position if it is the same file (or the
    same file grown), else 0."""
    if "fingerprint" not in done:
        return 0
    digest, _ = fingerprint(path, done.get("head", _FINGERPRINT_BYTES))
    return int(done.get("next", 0)) if digest == done["fingerprint"] else 0


class FileCursor:
    """A source's cursor over files (`{"files": {path: position}}`): per file, how far it
    was read and a fingerprint of its head. A position counts only for the file whose head
    it fingerprinted, so a file exported again under the same name (new rows first) is read
    from its start, and a file that only grew continues where it stopped."""

    def __init__(self, cursor: Mapping[str, Any]) -> None:
        self._files = {k: dict(v) for k, v in cursor.get("files", {}).items()}
        self._heads: dict[str, tuple[str, int]] = {}

    def start(self, path: Path) -> int:
        """The position to read `path` from (0 for a file not read before)."""
        name = str(path.resolve())
        start = _resume_at(path, self._files.get(name, {}))
        self._heads[name] = fingerprint(path)
        return start

    def checkpoint(self, path: Path, position: int) -> Checkpoint:
        """`path` is read up to `position` (after `start(path)`)."""
        name = str(path.resolve())
        digest, head = self._heads[name]
        self._files[name] = {"fingerprint": digest, "head": head, "next": position}
        return Checkpoint({"files": {k: dict(v) for k, v in self._files.items()}})


Convert = Callable[[RawEvent], Iterable[RawEvent]]


def read_files(
    context: SourceContext, paths: tuple[Path, ...], convert: Convert | None = None
) -> Iterator[RawEvent | Checkpoint]:
    """Events of every file, checkpointing per file position; `convert` turns each record
    read into the statement events it stands for (adapters such as Caliper and tutor)."""
    cursor = FileCursor(context.cursor)
    for path in paths:
        start = position = cursor.start(path)
        since_checkpoint = 0
        for record in read_file(path, start):
            if convert is None or record.error is not None:
                yield record
            else:
                yield from convert(record)
            position = record.index + 1
            since_checkpoint += 1
            if since_checkpoint >= CHECKPOINT_EVERY:
                yield cursor.checkpoint(path, position)
                since_checkpoint = 0
        yield cursor.checkpoint(path, max(position, start))


def mapped(record: Record, mapping: RecordMapping, origin: str, where: str) -> RawEvent:
    """The statement event of one record, or its dead letter: `where` (e.g. `line 7`) and
    why `mapping` cannot map it, in its words (`column 'score': 'lots' is not a number`)."""
    payload = orjson.dumps(record)
    try:
        statement = mapping(record)
    except (KeyError, TypeError, ValueError) as error:
        problem = str(error) if isinstance(error, MappingError) else f"cannot map: {error!r}"
        return RawEvent(payload, origin, f"{where}: {problem}")
    return RawEvent(orjson.dumps(statement), origin, statement=statement)


def read_csv(
    context: SourceContext, path: Path, mapping: RecordMapping
) -> Iterator[RawEvent | Checkpoint]:
    """The rows of a CSV file with a header line, each mapped to a statement by
    `mapping(row)`, resumable with `FileCursor`. Origins are `path:LINE` (1-based; the
    header is line 1); a row `mapping` cannot map, or that is not UTF-8, is dead-lettered
    with its line and why (`line 7: column 'score': 'lots' is not a number`)."""
    cursor = FileCursor(context.cursor)
    start = position = cursor.start(path)
    with path.open("rb") as handle:
        lines = _TextLines(handle)
        rows = csv.reader(lines)
        header = next(rows, [])
        line = rows.line_num + 1
        for index, values in enumerate(rows):
            first, line = line, rows.line_num + 1  # a quoted value may span lines
            if index >= start and values:
                if lines.undecodable & set(range(first, line)):
                    reason = f"line {first}: not UTF-8 text (shown with U+FFFD)"
                    yield RawEvent(orjson.dumps(values), f"{path}:{first}", reason)
                else:
                    yield _row_event(path, header, values, first, mapping)
            position = index + 1
            if position % CHECKPOINT_EVERY == 0 and position > start:
                yield cursor.checkpoint(path, position)
    yield cursor.checkpoint(path, max(position, start))


class _TextLines:
    """The lines of a binary file as text, each decoded alone, so one line that is not
    UTF-8 is dead-lettered (its 1-based number is in `undecodable`) and not the file."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._numbered = enumerate(handle, start=1)
        self.undecodable: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        number, raw = next(self._numbered)
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.undecodable.add(number)
            return raw.decode("utf-8", errors="replace")


def _row_event(
    path: Path, header: list[str], values: list[str], line: int, mapping: RecordMapping
) -> RawEvent:
    origin = f"{path}:{line}"
    if len(values) > len(header):
        extra = f"{len(values)} values, the header names {len(header)} columns"
        return RawEvent(orjson.dumps(values), origin, f"line {line}: {extra}")
    return mapped(Record(zip(header, values, strict=False)), mapping, origin, f"line {line}")


def read(context: SourceContext, paths: tuple[Path, ...]) -> Iterator[RawEvent | Checkpoint]:
    """The source function: the statements of files, as they are."""
    return read_files(context, paths)


def paths_argument() -> click.Argument:
    return click.Argument(
        ["paths"],
        nargs=-1,
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
    )


source = StatementSource(
    name="file",
    help="Statements from .json / .ndjson / .jsonl files (optionally .gz); resumable.",
    read=read,
    parameters=(paths_argument(),),
    cursor_key=lambda **options: "files",
)
