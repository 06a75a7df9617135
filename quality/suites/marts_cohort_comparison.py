"""marts.cohort_comparison: known metrics, differences inside their intervals, n consistent."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream.quality.suites.common import GateContext, small_group_flag, unexpected_rows

SCHEMA, TABLE = "marts", "cohort_comparison"
METRICS = ["completion_rate", "median_days_to_competency", "retention_30d_rate"]


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="marts_cohort_comparison")
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="metric", value_set=METRICS))
    for column in ("n", "baseline_n"):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0))
    suite.add_expectation(
        unexpected_rows(
            "rates_between_0_and_1",
            "rate metrics: value and baseline_value in [0, 1], difference in [-1, 1]",
            "SELECT * FROM {batch} WHERE metric <> 'median_days_to_competency' AND ("
            "value NOT BETWEEN 0 AND 1 OR baseline_value NOT BETWEEN 0 AND 1 "
            "OR difference NOT BETWEEN -1 AND 1)",
        )
    )
    suite.add_expectation(
        unexpected_rows(
            "difference_consistent",
            "difference = value - baseline_value, and ci_low <= ci_high; a rate difference "
            "(Newcombe-Wilson) lies inside its interval",
            "SELECT * FROM {batch} WHERE abs(difference - (value - baseline_value)) > 1e-9 "
            "OR ci_low > ci_high "
            "OR (metric <> 'median_days_to_competency' "
            "    AND (difference < ci_low - 1e-9 OR difference > ci_high + 1e-9))",
        )
    )
    suite.add_expectation(small_group_flag("least(n, baseline_n)", gate.k))
    return suite
