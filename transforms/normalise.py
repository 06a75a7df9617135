"""Per-statement normalisation: raw Kafka record -> a row of `raw.statements`, or a rejection.

Pure functions, free of Beam, so that the worker processes which run them start in a
fraction of a second (importing Beam costs seconds of CPU). The `NormaliseBatches` DoFn
that applies them to whole batches is in `pipeline.py`.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from skillstream import native
from skillstream.xapi.identity import (
    actor_ifi,
    learner_id,
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

log = logging.getLogger("skillstream.transforms")

# Column order of the rows NormaliseBatches emits; raw.statements adds is_voided, landed_at.
STATEMENT_COLUMNS = (
    "statement_id",
    "learner_id",
    "verb_id",
    "object_id",
    "object_type",
    "object_activity_type",
    "declared_course_ids",
    "parent_ids",
    "grouping_ids",
    "skill_ids",
    "cohort",
    "org",
    "team",
    "role",
    "score_scaled",
    "score_raw",
    "score_min",
    "score_max",
    "success",
    "completion",
    "response",
    "duration_seconds",
    "voids_statement_id",
    "occurred_at",
    "stored_at",
    "source",
    "kafka_partition",
    "kafka_offset",
    "content_hash",
    "statement",
    "kafka_timestamp",
)
REJECT_COLUMNS = ("kafka_partition", "kafka_offset", "statement_id", "source", "reasons", "payload")

STATEMENT_SCHEMA = pa.schema(
    [
        ("statement_id", pa.string()),
        ("learner_id", pa.string()),
        ("verb_id", pa.string()),
        ("object_id", pa.string()),
        ("object_type", pa.string()),
        ("object_activity_type", pa.string()),
        ("declared_course_ids", pa.list_(pa.string())),
        ("parent_ids", pa.list_(pa.string())),
        ("grouping_ids", pa.list_(pa.string())),
        ("skill_ids", pa.list_(pa.string())),
        ("cohort", pa.string()),
        ("org", pa.string()),
        ("team", pa.string()),
        ("role", pa.string()),
        ("score_scaled", pa.float64()),
        ("score_raw", pa.float64()),
        ("score_min", pa.float64()),
        ("score_max", pa.float64()),
        ("success", pa.bool_()),
        ("completion", pa.bool_()),
        ("response", pa.string()),
        ("duration_seconds", pa.float64()),
        ("voids_statement_id", pa.string()),
        ("occurred_at", pa.timestamp("us")),
        ("stored_at", pa.timestamp("us")),
        ("source", pa.string()),
        ("kafka_partition", pa.int32()),
        ("kafka_offset", pa.int64()),
        ("content_hash", pa.string()),
        ("statement", pa.string()),
        ("kafka_timestamp", pa.timestamp("us")),
    ]
)
assert tuple(STATEMENT_SCHEMA.names) == STATEMENT_COLUMNS


def rows_table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Row tuples in the schema's column order as an Arrow table of that schema."""
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in schema.names]
    return pa.Table.from_arrays(
        [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )


def statement_table(rows: list[tuple] | pa.Table) -> pa.Table:
    """Rows in STATEMENT_COLUMNS order (or a table already) as a table of STATEMENT_SCHEMA."""
    return rows if isinstance(rows, pa.Table) else rows_table(rows, STATEMENT_SCHEMA)


class KafkaRecord(NamedTuple):
    offset: int
    value: bytes | None
    source: str | None
    timestamp_ms: int


@dataclass
class KafkaBatch:
    """Consecutive records of one partition, covering offsets [start, end)."""

    topic: str
    partition: int
    start: int
    end: int
    records: list[KafkaRecord]
    skipped_from: int | None = None  # offsets [skipped_from, start) left Kafka before landing
    closes_range: bool = False  # the last batch of the range read: what follows waits for it
    range_end: int | None = None  # the end of the range read (the landing plans its last part)


@dataclass
class NormalisedBatch:
    """A batch's valid rows (tuples in STATEMENT_COLUMNS order, or the Arrow table the worker
    processes build: it crosses the process boundary as a few buffers, not 31 objects a row)
    and its rejections."""

    topic: str
    partition: int
    start: int
    end: int
    rows: list[tuple] | pa.Table = field(default_factory=list)
    rejects: list[tuple] = field(default_factory=list)
    skipped_from: int | None = None
    closes_range: bool = False
    range_end: int | None = None

    @property
    def record_count(self) -> int:
        """Records of Kafka it accounts for: its valid rows and its rejections."""
        return len(self.rows) + len(self.rejects)

    def continued_by(self, later: NormalisedBatch) -> bool:
        """Whether `later` starts where this one ends, in the same partition, with no gap."""
        return (
            later.topic == self.topic
            and later.partition == self.partition
            and later.start == self.end
            and later.skipped_from is None
        )


def merged(batches: list[NormalisedBatch]) -> NormalisedBatch:
    """Consecutive batches of one partition (each `continued_by` the next) as one batch."""
    if len(batches) == 1:
        return batches[0]
    first, last = batches[0], batches[-1]
    return NormalisedBatch(
        first.topic,
        first.partition,
        first.start,
        last.end,
        rows=pa.concat_tables([statement_table(b.rows) for b in batches]),
        rejects=[r for b in batches for r in b.rejects],
        skipped_from=first.skipped_from,
        closes_range=last.closes_range,
        range_end=last.range_end,
    )


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
    learner = learner_id(actor_ifi(statement["actor"]), salt)
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


def normalise_record(
    record: KafkaRecord, partition: int, salt: str
) -> tuple[tuple | None, tuple | None]:
    """(row, None) for a valid statement, (None, reject) otherwise. Never raises on bad input."""
    return _normalise_payload(
        record.value or b"",
        record.offset,
        record.source,
        _utc(record.timestamp_ms),
        partition,
        salt,
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
    with _without_cyclic_gc():
        for _, row, reject in _normalised(records, range(len(records)), partition, salt):
            if row is not None:
                rows.append(row)
            elif reject is not None:
                rejects.append(reject)
    return rows, rejects


def _normalised(
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
def _without_cyclic_gc() -> Iterator[None]:
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


def normalise_chunk_table(
    records: list[tuple[int, bytes | None, str | None, int]], partition: int, salt: str
) -> tuple[pa.Table, list[tuple]]:
    """normalise_chunk with the rows as an Arrow table: what the worker processes return.

    With the compiled normaliser (`skillstream_native`, built from transforms/native/ by `make`) the
    statements it is sure of are normalised there, into Arrow buffers, and only the rest
    (the invalid ones, and shapes it leaves to Python) take the Python way; the rows keep
    the records' order either way. `SKILLSTREAM_NATIVE=0` turns it off.
    """
    with _without_cyclic_gc():
        if native_normaliser() is None:
            rows, rejects = normalise_chunk(records, partition, salt)
            return statement_table(rows), rejects
        return _native_chunk_table(records, partition, salt)


def native_normaliser() -> Any:
    """The compiled normaliser (`skillstream.native`), or None when it is not built or is
    turned off."""
    return native.compiled()


def _buffers_array(kind: pa.DataType, length: int, buffers: tuple) -> pa.Array:
    """An array of `kind` from the buffers the compiled normaliser returns for a column."""
    if pa.types.is_list(kind):
        offsets, item_offsets, item_data = buffers
        items = pa.Array.from_buffers(
            pa.string(),
            len(item_offsets) // 4 - 1,
            [None, pa.py_buffer(item_offsets), pa.py_buffer(item_data)],
        )
        return pa.Array.from_buffers(kind, length, [None, pa.py_buffer(offsets)], children=[items])
    validity, nulls, *data = buffers
    return pa.Array.from_buffers(
        kind, length, [pa.py_buffer(validity), *map(pa.py_buffer, data)], null_count=nulls
    )


def _native_chunk_table(
    records: list[tuple[int, bytes | None, str | None, int]],
    partition: int,
    salt: str,
    python: Callable[[list[int]], Iterable[tuple[int, tuple | None, tuple | None]]] | None = None,
) -> tuple[pa.Table, list[tuple]]:
    """The compiled normaliser's rows of `records`, with the declined ones normalised the
    Python way: by `python(positions)`, an iterable of (position, row, reject), when given,
    else here."""
    offsets, values, sources, stamps = (
        (list(c) for c in zip(*records, strict=True)) if records else ([], [], [], [])
    )
    made, declined, buffers = native.compiled().normalise_batch(values, salt)
    positions = pa.Array.from_buffers(pa.uint32(), len(made) // 4, [None, pa.py_buffer(made)])
    count = len(positions)
    columns: dict[str, pa.Array] = {
        name: _buffers_array(STATEMENT_SCHEMA.field(name).type, count, column)
        for name, column in buffers.items()
    }
    received = pa.array(stamps, pa.int64()).take(positions)
    received = pc.multiply(received, 1000).cast(pa.timestamp("us"))
    columns["stored_at"] = pc.coalesce(columns["stored_at"], received)
    columns["occurred_at"] = pc.coalesce(columns["occurred_at"], columns["stored_at"])
    columns["source"] = pa.array(sources, pa.string()).take(positions)
    columns["kafka_partition"] = pa.repeat(pa.scalar(partition, pa.int32()), count)
    columns["kafka_offset"] = pa.array(offsets, pa.int64()).take(positions)
    columns["kafka_timestamp"] = received
    table = pa.Table.from_arrays([columns[n] for n in STATEMENT_COLUMNS], schema=STATEMENT_SCHEMA)
    if not declined:
        return table, []
    rows, rejects, python_positions = [], [], []
    normalised = (
        _normalised(records, declined, partition, salt) if python is None else python(declined)
    )
    for position, row, reject in normalised:
        if row is not None:
            rows.append(row)
            python_positions.append(position)
        elif reject is not None:
            rejects.append(reject)
    if not rows:
        return table, rejects
    # the Python rows go back where their records were: the landing keeps the first of an id
    order = pc.sort_indices(pa.concat_arrays([positions, pa.array(python_positions, pa.uint32())]))
    return pa.concat_tables([table, statement_table(rows)]).take(order), rejects


def normalise_records(
    records: list[tuple[int, bytes | None, str | None, int]], partition: int, salt: str
) -> list[tuple[int, tuple | None, tuple | None]]:
    """(index, row, reject) of each record, the Python way: a worker process's share of the
    records the compiled normaliser declined."""
    with _without_cyclic_gc():
        return list(_normalised(records, range(len(records)), partition, salt))


# Declined records of a batch up to this many are normalised on the thread that made the
# others; more (a source of Group actors, a run of invalid records) go to the worker
# processes, where Python uses both cores. A thread holds the interpreter for Python work.
DECLINED_ON_THREAD = 64


def native_batch_table(
    records: list[tuple[int, bytes | None, str | None, int]],
    partition: int,
    salt: str,
    workers: int,
) -> tuple[pa.Table, list[tuple]]:
    """A whole batch by the compiled normaliser, on a thread of this process
    (`normaliser_threads`): it normalises with the interpreter released, so the threads
    use the cores without pickling records to processes and rows back."""

    def python(declined: list[int]) -> Iterable[tuple[int, tuple | None, tuple | None]]:
        if len(declined) <= DECLINED_ON_THREAD or workers <= 1:
            return _normalised(records, declined, partition, salt)
        size = -(-len(declined) // workers)
        shares = [declined[i : i + size] for i in range(0, len(declined), size)]
        futures = [
            worker_pool(workers).submit(
                normalise_records, [records[p] for p in share], partition, salt
            )
            for share in shares
        ]
        return (
            (share[index], row, reject)
            for share, future in zip(shares, futures, strict=True)
            for index, row, reject in future.result()
        )

    return _native_chunk_table(records, partition, salt, python)


_threads: dict[tuple[int, int], concurrent.futures.ThreadPoolExecutor] = {}


def normaliser_threads(workers: int, nice: int = 0) -> concurrent.futures.ThreadPoolExecutor:
    """Threads that run the compiled normaliser (`native_batch_table`), one pool a process
    for each (workers, nice). Each thread lowers its own priority by `nice`
    (`lower_thread_priority`)."""
    pool = _threads.get((workers, nice))
    if pool is None:
        pool = _threads[(workers, nice)] = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="skillstream-normalise",
            initializer=lower_thread_priority,
            initargs=(nice,),
        )
    return pool


def lower_thread_priority(steps: int) -> None:
    """Lower the calling thread's priority by `steps` nice values (0: leave it), relative to
    the process's own (at most 19). On Linux a thread has a nice value of its own; elsewhere
    `setpriority` would change the whole process, so it is left alone there. Refused (a
    sandbox), the thread runs on as it is: the priority is a speed choice, never a reason to
    fail."""
    if steps <= 0 or not sys.platform.startswith("linux"):
        return
    thread = threading.get_native_id()
    try:
        nice = min(19, os.getpriority(os.PRIO_PROCESS, thread) + steps)
        os.setpriority(os.PRIO_PROCESS, thread, nice)
    except OSError as error:
        log.debug("normaliser thread priority not lowered by %d: %s", steps, error)


def _parent_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:  # a killed, unreaped parent is a zombie
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False


def _exit_with(parent: int) -> None:
    while not _parent_gone(parent):
        time.sleep(0.5)
    os._exit(0)


def _worker_start(parent: int) -> None:
    """In each worker process: Ctrl-C reaches the whole process group, but the parent decides
    how to stop, not the workers; and a worker ends when its parent is gone, also SIGKILLed.
    (A pool worker otherwise waits for work forever, and the forkserver with it: each holds the
    other alive. A SIGKILLed transform left three processes behind.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    gc.freeze()  # the modules it imported live as long as it does: not for the collector to walk


_pools: dict[int, concurrent.futures.ProcessPoolExecutor] = {}


@atexit.register
def _shutdown_pools() -> None:
    while _pools:
        _, pool = _pools.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


def worker_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """Processes that normalise (the CPU-bound step) next to the one that reads and lands.

    One pool per process, kept across pipeline runs (`--follow` runs one per round). The
    forkserver start method forks workers from a clean process, not from this one with its
    Beam and Kafka threads; the workers (and so the forkserver) end with their parent, also
    when it is SIGKILLed (`_worker_start`).
    """
    pool = _pools.get(workers)
    if pool is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["skillstream.transforms.normalise"])
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        _pools[workers] = pool
    return pool
