"""raw.statements row by row: what the pipeline landed must be sane before any metric is
built on it.

The rows checked are the new slice: those landed after the published build's newest landing
(`GateContext.checked_after`), which that build checked; every row when there is none. What
holds of the table as a whole (volume, quarantine share, freshness) is raw_statements_totals'.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream import warehouse
from skillstream.quality.suites.common import GateContext, unexpected_rows
from skillstream.settings import Settings

SCHEMA, TABLE = "raw", "statements"


def relation(settings: Settings) -> tuple[str, str]:
    """The schema and table of the landed statements (warehouse.landed_relations)."""
    schema, _, table = warehouse.landed_relations(settings)[0].partition(".")
    return schema, table


EARLIEST = datetime(2000, 1, 1)
CLOCK_SKEW = timedelta(minutes=5)  # a source's clock may run this far ahead of ours


def timestamp_literal(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.isoformat(sep=' ')}'"


def slice_query(gate: GateContext) -> str | None:
    """The rows this suite checks: those landed after `gate.checked_after`; None: every row.
    DuckDB skips the row groups whose landed_at all lie before it (their min/max), so the
    query reads the slice, not the table."""
    if gate.checked_after is None:
        return None
    schema, table = relation(gate.settings)
    after = timestamp_literal(gate.checked_after)
    return f"SELECT * FROM {schema}.{table} WHERE landed_at > {after}"


def _no_id_landed_before(gate: GateContext, checked_after: datetime) -> Any:
    """No id of the slice equals the id of a row landed before it. The older rows whose id_key
    (an integer) matches are found first, then only their ids compared: scanning every older
    id (compressed text) is what would grow with the warehouse."""
    schema, table = relation(gate.settings)
    return unexpected_rows(
        "statement_id_new",
        "no statement id of the new slice is the id of a statement landed before it",
        f"""
        WITH slice_ids AS MATERIALIZED (
            SELECT statement_id, {warehouse.id_key("statement_id")} AS id_key FROM {{batch}}
        ),
        candidates AS MATERIALIZED (
            SELECT rowid AS row_id FROM {schema}.{table}
            WHERE landed_at <= {timestamp_literal(checked_after)}
              AND (id_key IN (SELECT id_key FROM slice_ids) OR id_key IS NULL)
        )
        SELECT statement_id FROM {schema}.{table}
        WHERE rowid IN (SELECT row_id FROM candidates)
          AND statement_id IN (SELECT statement_id FROM slice_ids)
        """,
    )


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="raw_statements")
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="statement_id"))
    if gate.checked_after is not None:
        suite.add_expectation(_no_id_landed_before(gate, gate.checked_after))
    for column in (
        "statement_id",
        "learner_id",
        "verb_id",
        "occurred_at",
        "stored_at",
        "statement",
    ):
        suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="score_scaled", min_value=-1, max_value=1)
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="duration_seconds", min_value=0))
    suite.add_expectation(
        gxe.ExpectColumnValueLengthsToEqual(column="learner_id", value=64)  # hex SHA-256
    )
    suite.add_expectation(
        unexpected_rows(
            "score_raw_within_min_max",
            "result.score.raw lies within [score.min, score.max] and min <= max",
            "SELECT statement_id, score_raw, score_min, score_max FROM {batch} "
            "WHERE score_raw < score_min OR score_raw > score_max OR score_min > score_max",
        )
    )
    earliest, latest = timestamp_literal(EARLIEST), gate.now + CLOCK_SKEW
    suite.add_expectation(
        unexpected_rows(
            "timestamps_sane",
            f"timestamp and stored lie between {EARLIEST:%Y-%m-%d} and now "
            f"(+{int(CLOCK_SKEW.total_seconds() // 60)} min clock skew)",
            "SELECT statement_id, occurred_at, stored_at FROM {batch} WHERE "
            + " OR ".join(
                f"{column} < {earliest} OR {column} > {timestamp_literal(latest)}"
                for column in ("occurred_at", "stored_at")
            ),
        )
    )
    return suite
