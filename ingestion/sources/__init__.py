"""Event sources as plugins.

A source is a small module with one function that yields raw events and says how far it
has read (the dlt shape). It does no I/O at import; the runner (`ingestion/run.py`) opens
the cursor, produces every event to Kafka and, at each `Checkpoint` the source yields,
waits until Kafka acknowledged everything before it persists the cursor. A crash therefore
resumes from the last acknowledged checkpoint: nothing is lost, and what is sent again
lands once (statements are immutable and the pipeline ignores exact repeats).

Sources register under the entry-point group `skillstream.sources` and load through
`load_sources()`, so a data engineer adds one without touching the core:

    [project.entry-points."skillstream.sources"]
    mysource = "my_package.my_source:source"

Two kinds exist: `StatementSource` (events to `xapi.statements`; file, lrs, caliper,
tutor) and `TableSource` (batch imports of business data into `raw.*`; roster, kpis).
docs/add-a-source.md shows a complete one. A source maps records with a `mapping` that
raises `MappingError` (via `Record`) naming the column it cannot map; `file.py` holds the
resumable readers and cursors plugins share (`FileCursor`, `read_csv`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

import click

if TYPE_CHECKING:
    from skillstream.settings import Settings

ENTRY_POINT_GROUP = "skillstream.sources"


@dataclass(frozen=True)
class RawEvent:
    """One event as a source read it.

    `payload` is the statement's JSON bytes, or the unparseable bytes when `error` says why
    it could not be read; `origin` tells a person where it came from (file and line);
    `statement` is the parsed JSON object when the source already parsed it; `index` is
    the event's position in its input (line from 0, or array element).
    """

    payload: bytes
    origin: str
    error: str | None = None
    statement: dict[str, Any] | None = None
    index: int = 0


@dataclass(frozen=True)
class Checkpoint:
    """What the source has read so far. Persisted once Kafka acknowledged every event
    yielded before it; the next run of the same source and key starts from it."""

    state: Mapping[str, Any]


class Progress(Protocol):
    """The progress bar a source may drive (a tqdm bar, or a silent one)."""

    total: float | None
    unit: str

    def update(self, n: float = 1) -> Any: ...


class SilentProgress:
    def __init__(self) -> None:
        self.total: float | None = None
        self.unit = "event"
        self.n: float = 0

    def update(self, n: float = 1) -> None:
        self.n += n


@dataclass
class SourceContext:
    """What a source's function receives: settings, its last cursor, a progress bar."""

    settings: Settings
    cursor: Mapping[str, Any]
    progress: Progress = field(default_factory=SilentProgress)


ReadEvents = Callable[..., Iterable["RawEvent | Checkpoint"]]


class MappingError(ValueError):
    """A record a source cannot map to a statement: which column, and why."""

    def __init__(self, column: str, problem: str) -> None:
        super().__init__(f"column {column!r}: {problem}")
        self.column = column


class Record(dict[str, Any]):
    """One record a source read (a CSV row, a JSON event), by column. Reading a missing or
    empty column raises a `MappingError` naming it, where a dict raises `KeyError('score')`;
    `number` refuses what is not a finite number in range the same way."""

    def __getitem__(self, column: str) -> Any:
        if column not in self:
            raise MappingError(column, "missing")
        value = super().__getitem__(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MappingError(column, "empty")
        return value

    def number(self, column: str, low: float | None = None, high: float | None = None) -> float:
        value = self[column]
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise MappingError(column, f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise MappingError(column, f"{value!r} is not a finite number")
        if (low is not None and number < low) or (high is not None and number > high):
            raise MappingError(column, f"{value!r} is not between {low} and {high}")
        return number


RecordMapping = Callable[[Record], dict[str, Any]]


@dataclass(frozen=True)
class StatementSource:
    """Produces xAPI statements to Kafka.

    `read(context, **options)` yields RawEvents and Checkpoints. `parameters` are the
    click arguments and options of `skillstream ingest NAME`. `cursor_key(**options)`
    names the cursor of one input (a file, an LRS endpoint): None means no cursor.
    `mapping(record)` maps one record the source read to a statement, raising ValueError
    (`MappingError`) when it cannot; `skillstream dlq replay` runs the source's dead
    letters through it again. None: the source reads statements as they are.
    """

    name: str
    help: str
    read: ReadEvents
    parameters: tuple[click.Parameter, ...] = ()
    cursor_key: Callable[..., str | None] = lambda **options: None
    mapping: RecordMapping | None = None


@dataclass(frozen=True)
class TableSource:
    """Loads business data (HR, KPIs) into a `raw` table; `load(settings, **options)`
    returns what it imported as a dict a script can print as JSON."""

    name: str
    help: str
    load: Callable[..., dict[str, Any]]
    parameters: tuple[click.Parameter, ...] = ()


Source = StatementSource | TableSource


class SourceError(RuntimeError):
    """A registered source cannot be loaded."""


def load_sources() -> dict[str, Source]:
    """Every installed source, by name (entry-point group `skillstream.sources`)."""
    sources: dict[str, Source] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        sources[entry.name] = load_source(entry.name, entry)
    return sources


def installed_names() -> list[str]:
    """The names of the installed sources, without loading them."""
    return [entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)]


def load_source(name: str, entry: Any = None) -> Source:
    if entry is None:
        matches = [e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == name]
        if not matches:
            raise SourceError(f"no source named {name!r} is installed")
        entry = matches[0]
    try:
        source = entry.load()
    except Exception as error:  # noqa: BLE001 - a broken plugin must not take the CLI down
        raise SourceError(f"source {name!r} ({entry.value}) failed to load: {error}") from None
    if not isinstance(source, StatementSource | TableSource):
        raise SourceError(
            f"source {name!r} ({entry.value}) is a {type(source).__name__}, "
            "not a StatementSource or TableSource"
        )
    return source
