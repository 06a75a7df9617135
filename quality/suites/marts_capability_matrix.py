"""marts.capability_matrix: per team x skill, mastered <= learners and the rate matches."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream.quality.suites.common import (
    GateContext,
    rates_between_0_and_1,
    small_group_flag,
    unexpected_rows,
)

SCHEMA, TABLE = "marts", "capability_matrix"


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="marts_capability_matrix")
    for expectation in rates_between_0_and_1("mastery_rate"):
        suite.add_expectation(expectation)
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="learners", min_value=1))
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="learners", column_B="mastered", or_equal=True
        )
    )
    suite.add_expectation(
        unexpected_rows(
            "rate_is_mastered_over_learners",
            "mastery_rate = mastered / learners",
            "SELECT * FROM {batch} WHERE abs(mastery_rate - mastered / learners) > 1e-9",
        )
    )
    suite.add_expectation(small_group_flag("learners", gate.k))
    return suite
