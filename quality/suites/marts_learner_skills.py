"""marts.learner_skills: mastery, days and retention agree with each other per learner."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream.quality.suites.common import GateContext, unexpected_rows

SCHEMA, TABLE = "marts", "learner_skills"


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="marts_learner_skills")
    suite.add_expectation(
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["learner_id", "skill_id"])
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="days_to_competency", min_value=0)
    )
    suite.add_expectation(
        gxe.ExpectColumnValuesToBeBetween(column="latest_score", min_value=-1, max_value=1)
    )
    suite.add_expectation(
        unexpected_rows(
            "consistent_n",
            "mastered exactly when mastered_at is set; retained only when checked, and "
            "checked only when mastered",
            "SELECT * FROM {batch} WHERE mastered <> (mastered_at IS NOT NULL) "
            "OR (days_to_competency IS NULL) <> (mastered_at IS NULL) "
            "OR (retention_30d_retained IS NOT NULL) <> retention_30d_checked "
            "OR (retention_30d_checked AND NOT mastered)",
        )
    )
    return suite
