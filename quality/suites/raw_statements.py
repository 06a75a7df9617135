"""raw.statements: what the pipeline landed must be sane before any metric is built on it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream import warehouse
from skillstream.quality.suites.common import GateContext, unexpected_rows
from skillstream.settings import Settings

SCHEMA, TABLE = "raw", "statements"


def relation(settings: Settings) -> tuple[str, str]:
    """The schema and table of the landed statements (warehouse.landed_relations)."""
    schema, _, table = warehouse.landed_relations(settings)[0].partition(".")
    return schema, table


EARLIEST = datetime(2000, 1, 1)
CLOCK_SKEW = timedelta(minutes=5)  # a source's clock may run this far ahead of ours


def _literal(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.isoformat(sep=' ', timespec='seconds')}'"


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    settings = gate.settings
    suite = gx.ExpectationSuite(name="raw_statements")
    # volume: never below the previous build's by more than the setting allows (a lost
    # partition, a wrong warehouse); `forget` removing a learner stays within it
    minimum = 1
    if gate.previous_statements:
        minimum = max(1, math.floor(gate.previous_statements * settings.quality_min_volume_ratio))
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=minimum))
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
    suite.add_expectation(
        unexpected_rows(
            "score_raw_within_min_max",
            "result.score.raw lies within [score.min, score.max] and min <= max",
            "SELECT statement_id, score_raw, score_min, score_max FROM {batch} "
            "WHERE score_raw < score_min OR score_raw > score_max OR score_min > score_max",
        )
    )
    latest = gate.now + CLOCK_SKEW
    suite.add_expectation(
        unexpected_rows(
            "timestamps_sane",
            f"timestamp and stored lie between {EARLIEST:%Y-%m-%d} and now "
            f"(+{int(CLOCK_SKEW.total_seconds() // 60)} min clock skew)",
            "SELECT statement_id, occurred_at, stored_at FROM {batch} WHERE "
            + " OR ".join(
                f"{column} < {_literal(EARLIEST)} OR {column} > {_literal(latest)}"
                for column in ("occurred_at", "stored_at")
            ),
        )
    )
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
        cutoff = gate.now - timedelta(hours=hours)
        suite.add_expectation(
            unexpected_rows(
                "fresh",
                f"the newest statement landed within the last {hours:g} hours",
                "SELECT max(landed_at) AS newest FROM {batch} "
                f"HAVING max(landed_at) < {_literal(cutoff)}",
            )
        )
    return suite
