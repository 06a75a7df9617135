"""Expectation suites as code: one module per table, each with TABLE and build_suite()."""

from skillstream.quality.suites import marts_cohort_outcomes, raw_statements

SUITES = (raw_statements, marts_cohort_outcomes)
