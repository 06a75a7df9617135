"""marts.cohort_outcomes: rates are rates, counts are consistent, small groups flagged."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream.quality.suites.common import (
    GateContext,
    rates_between_0_and_1,
    small_group_flag,
    unexpected_rows,
)

SCHEMA, TABLE = "marts", "cohort_outcomes"


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="marts_cohort_outcomes")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    for expectation in rates_between_0_and_1("completion_rate"):
        suite.add_expectation(expectation)
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="enrolled", min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="seat_time_hours", min_value=0))
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="enrolled", column_B="completed", or_equal=True
        )
    )
    suite.add_expectation(
        unexpected_rows(
            "rate_is_completed_over_enrolled",
            "completion_rate = completed / enrolled",
            "SELECT * FROM {batch} WHERE abs(completion_rate - completed / enrolled) > 1e-9",
        )
    )
    # GX has no LIKE/regex for DuckDB; the format itself is a dbt test, GX checks the shape.
    suite.add_expectation(gxe.ExpectColumnValueLengthsToEqual(column="quarter", value=6))
    suite.add_expectation(small_group_flag("enrolled", gate.k))
    return suite
