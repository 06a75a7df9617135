"""raw.statements as a whole: the volume, the quarantined share and the newest landing.

Each is read from what DuckDB keeps without scanning rows: count(*) of a whole table is
answered from the row groups' row counts, and the newest landing lies in the new slice (the
rows landed after `GateContext.checked_after`), whose row groups are the only ones read.
The rows themselves are raw_statements' to check.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream import warehouse
from skillstream.quality.suites import raw_statements
from skillstream.quality.suites.common import GateContext, unexpected_rows

SCHEMA, TABLE = raw_statements.SCHEMA, raw_statements.TABLE
relation = raw_statements.relation


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    settings = gate.settings
    suite = gx.ExpectationSuite(name="raw_statements_totals")
    # volume: never below the previous build's by more than the setting allows (a lost
    # partition, a wrong warehouse); `forget` removing a learner stays within it
    minimum = 1
    if gate.previous_statements:
        minimum = max(1, math.floor(gate.previous_statements * settings.quality_min_volume_ratio))
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=minimum))
    share = settings.quality_max_quarantine_share
    suite.add_expectation(
        unexpected_rows(
            "quarantine_share",
            f"at most {share:.1%} of the events received are in raw.quarantine",
            "SELECT quarantined, landed FROM "
            f"(SELECT count(*) AS quarantined FROM {warehouse.landed_relations(settings)[1]}), "
            "(SELECT count(*) AS landed FROM {batch}) "
            f"WHERE quarantined > {share!r} * (quarantined + landed)",
        )
    )
    hours = settings.quality_max_staleness_hours
    if hours > 0:
        suite.add_expectation(_fresh(gate, hours))
    return suite


def _fresh(gate: GateContext, hours: float) -> Any:
    """The newest statement landed within `hours`: the newest of the new slice, or with none
    the published build's newest (landed_at only grows: a landing stamps its time)."""
    cutoff = raw_statements.timestamp_literal(gate.now - timedelta(hours=hours))
    newest, where = "max(landed_at)", ""
    if gate.checked_after is not None:
        checked_after = raw_statements.timestamp_literal(gate.checked_after)
        newest = f"coalesce(max(landed_at), {checked_after})"
        where = f"WHERE landed_at > {checked_after}"
    return unexpected_rows(
        "fresh",
        f"the newest statement landed within the last {hours:g} hours",
        f"SELECT {newest} AS newest FROM {{batch}} {where} HAVING {newest} < {cutoff}",
    )
