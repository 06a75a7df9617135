"""Expectation suites as code: one module per table, each with SCHEMA, TABLE and
build_suite(gate) -> ExpectationSuite.

A suite is built anew for every checkpoint run from the `GateContext`: the thresholds come
from settings (k, quarantine share, volume ratio, staleness) and from the previous build
(volume), so a changed setting applies to the next build. raw.statements has two: its rows
(raw_statements, on the new slice) and its totals (raw_statements_totals).
"""

from __future__ import annotations

from skillstream.quality.suites import (
    marts_capability_matrix,
    marts_cohort_comparison,
    marts_cohort_competency,
    marts_cohort_outcomes,
    marts_engagement_weekly,
    marts_learner_skills,
    marts_roi_quarterly,
    raw_statements,
    raw_statements_totals,
)

SUITES = (
    raw_statements,
    raw_statements_totals,
    marts_cohort_outcomes,
    marts_cohort_competency,
    marts_capability_matrix,
    marts_cohort_comparison,
    marts_roi_quarterly,
    marts_engagement_weekly,
    marts_learner_skills,
)
