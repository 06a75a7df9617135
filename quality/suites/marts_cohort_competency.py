"""marts.cohort_competency: rates in [0, 1], learners >= mastered >= retention-checked."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream.quality.suites.common import (
    GateContext,
    rates_between_0_and_1,
    small_group_flag,
    unexpected_rows,
)

SCHEMA, TABLE = "marts", "cohort_competency"


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="marts_cohort_competency")
    for expectation in rates_between_0_and_1("mastery_rate", "retention_30d_rate"):
        suite.add_expectation(expectation)
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="learners", min_value=1))
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="learners", column_B="learners_mastered", or_equal=True
        )
    )
    suite.add_expectation(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="learners_mastered", column_B="retention_30d_checked", or_equal=True
        )
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="median_days_to_competency", min_value=0)
    )
    suite.add_expectation(
        unexpected_rows(
            "consistent_n",
            "mastery_rate = learners_mastered / learners; median <= p75; medians and the "
            "retention rate are null exactly when nobody mastered / was checked",
            "SELECT * FROM {batch} WHERE "
            "abs(mastery_rate - learners_mastered / learners) > 1e-9 "
            "OR median_days_to_competency > p75_days_to_competency "
            "OR (median_days_to_competency IS NULL) <> (learners_mastered = 0) "
            "OR (retention_30d_rate IS NULL) <> (retention_30d_checked = 0)",
        )
    )
    suite.add_expectation(small_group_flag("learners", gate.k))
    return suite
