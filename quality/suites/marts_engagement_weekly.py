"""marts.engagement_weekly: additive counts, never negative, weeks start on Monday."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream import warehouse
from skillstream.quality.suites.common import GateContext, unexpected_rows

SCHEMA, TABLE = "marts", "engagement_weekly"


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="marts_engagement_weekly")
    for column in warehouse.ENGAGEMENT_MEASURES:
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0))
    suite.add_expectation(
        unexpected_rows(
            "consistent_n",
            "every active learner had a session; the week starts on a Monday; "
            "small groups are flagged",
            "SELECT * FROM {batch} WHERE sessions < active_learners "
            "OR isodow(week_start) <> 1 "
            f"OR (active_learners < {gate.k} AND NOT is_small_group)",
        )
    )
    return suite
