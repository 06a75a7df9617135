"""Learners at risk (marts.at_risk_weekly): their share per program, cohort and team, and its
weekly trend, in groups of k or more; names only through `skillstream report at-risk`."""

from __future__ import annotations

from skillstream.dashboards import charts_insight, common, data

build = common.published_or_stop("At risk")
filters = common.sidebar_filters(build)
charts_insight.show_at_risk(build, filters, data.privacy())
