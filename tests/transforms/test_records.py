"""The raw tables (skillstream/warehouse.py's RAW_DDL) have the columns and types of the rows the
transform lands (transforms/records.py), plus the columns the landing itself sets."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from skillstream import warehouse
from skillstream.transforms.records import REJECT_SCHEMA, STATEMENT_SCHEMA


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    warehouse.ensure_raw_schema(connection)
    return connection


def columns(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {name: kind for name, kind, *_ in con.execute(f"DESCRIBE {relation}").fetchall()}


def arrow_columns(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> dict[str, str]:
    """The DuckDB types of an Arrow schema's columns, as DuckDB reads them."""
    con.register("rows_of_schema", schema.empty_table())
    try:
        return columns(con, "rows_of_schema")
    finally:
        con.unregister("rows_of_schema")


def test_raw_statements_has_the_columns_of_a_statement_row(con: duckdb.DuckDBPyConnection) -> None:
    table = columns(con, "raw.statements")
    rows = arrow_columns(con, STATEMENT_SCHEMA)
    # the landing hands the statement to DuckDB typed JSON (land._statement_typed_json)
    assert {**rows, "statement": "JSON"} == {name: table[name] for name in rows}
    assert set(table) - set(rows) == {"is_voided", "landed_at", "id_key"}


def test_raw_quarantine_has_the_columns_of_a_rejection(con: duckdb.DuckDBPyConnection) -> None:
    table = columns(con, "raw.quarantine")
    rows = arrow_columns(con, REJECT_SCHEMA)
    assert rows == {name: table[name] for name in rows}
    assert set(table) - set(rows) == {"topic", "quarantined_at"}
