"""The bridge to the compiled normaliser (`skillstream_native`, built from transforms/native/
by `make`): its Arrow buffers become the table the Python normaliser would make, and the
records it declines take the Python way. Without it, or with `SKILLSTREAM_NATIVE=0`, every
record takes the Python way (`normalise_chunk_table`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from skillstream import native
from skillstream.transforms.normalise import (
    normalise_chunk,
    normalise_records,
    normalised_at,
    without_cyclic_gc,
)
from skillstream.transforms.pools import worker_pool
from skillstream.transforms.records import STATEMENT_COLUMNS, STATEMENT_SCHEMA, statement_table


def normalise_chunk_table(
    records: list[tuple[int, bytes | None, str | None, int]], partition: int, salt: str
) -> tuple[pa.Table, list[tuple]]:
    """normalise_chunk with the rows as an Arrow table: what the worker processes return.

    With the compiled normaliser the statements it is sure of are normalised there, into
    Arrow buffers, and only the rest (the invalid ones, and shapes it leaves to Python) take
    the Python way; the rows keep the records' order either way.
    """
    with without_cyclic_gc():
        if native_normaliser() is None:
            rows, rejects = normalise_chunk(records, partition, salt)
            return statement_table(rows), rejects
        return native_chunk_table(records, partition, salt)


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


def native_chunk_table(
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
        normalised_at(records, declined, partition, salt) if python is None else python(declined)
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
            return normalised_at(records, declined, partition, salt)
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

    return native_chunk_table(records, partition, salt, python)
