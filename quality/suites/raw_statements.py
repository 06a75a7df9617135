"""raw.statements: what the pipeline landed must be sane before any metric is built on it."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

SCHEMA, TABLE = "raw", "statements"


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="raw_statements")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="statement_id"))
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
    return suite
