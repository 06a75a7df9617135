"""What flows through the transform: Kafka records and batches, normalised batches, and the one
Arrow schema of their rows (the rows of `raw.statements` and `raw.quarantine`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pyarrow as pa

# The rows NormaliseBatches emits, in column order: the columns of raw.statements but
# is_voided, landed_at and id_key, which the landing sets (skillstream/warehouse.py's RAW_DDL,
# held equal to this by tests/transforms/test_records.py). The compiled normaliser fills the
# same columns (transforms/native/src/lib.rs), held equal by tests/transforms/test_native.py.
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
STATEMENT_COLUMNS = tuple(STATEMENT_SCHEMA.names)

# A rejection: the columns of raw.quarantine but topic and quarantined_at.
REJECT_SCHEMA = pa.schema(
    [
        ("kafka_partition", pa.int32()),
        ("kafka_offset", pa.int64()),
        ("statement_id", pa.string()),
        ("source", pa.string()),
        ("reasons", pa.list_(pa.string())),
        ("payload", pa.string()),
    ]
)
REJECT_COLUMNS = tuple(REJECT_SCHEMA.names)


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
