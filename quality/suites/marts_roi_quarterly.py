"""marts.roi_quarterly: Phillips' arithmetic holds on every row."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from skillstream.quality.suites.common import GateContext, small_group_flag, unexpected_rows

SCHEMA, TABLE = "marts", "roi_quarterly"


def build_suite(gate: GateContext) -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="marts_roi_quarterly")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="learners", min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="costs", min_value=0))
    suite.add_expectation(gxe.ExpectColumnValueLengthsToEqual(column="quarter", value=6))
    suite.add_expectation(
        unexpected_rows(
            "phillips_arithmetic",
            "net_benefit = benefits - costs; roi_pct = net / costs x 100; bcr = benefits / costs",
            "SELECT * FROM {batch} WHERE "
            "abs(net_benefit - (benefits - costs)) > 1e-6 * greatest(1, abs(costs)) "
            "OR (costs > 0 AND abs(roi_pct - (benefits - costs) / costs * 100) > 1e-6) "
            "OR (costs > 0 AND abs(bcr - benefits / costs) > 1e-9)",
        )
    )
    suite.add_expectation(small_group_flag("learners", gate.k))
    return suite
