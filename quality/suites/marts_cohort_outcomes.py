"""marts.cohort_outcomes: rates are rates, counts are consistent."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

SCHEMA, TABLE = "marts", "cohort_outcomes"


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="marts_cohort_outcomes")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="completion_rate", min_value=0, max_value=1)
    )
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="enrolled", min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="seat_time_hours", min_value=0))
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="enrolled", column_B="completed", or_equal=True
        )
    )
    # GX has no LIKE/regex for DuckDB; the format itself is a dbt test, GX checks the shape.
    suite.add_expectation(gxe.ExpectColumnValueLengthsToEqual(column="quarter", value=6))
    return suite
