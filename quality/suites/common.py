"""What every suite uses: the gate's context and expectations written once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import great_expectations.expectations as gxe

from skillstream.settings import Settings


@dataclass(frozen=True)
class GateContext:
    settings: Settings
    now: datetime  # naive UTC: the warehouse stores UTC timestamps without a zone
    previous_statements: int | None  # raw.statements rows at the previous build, if any
    # The landed_through of the published build: the row-level expectations of the landed
    # statements check only the rows landed after it (the new slice); None checks every row.
    checked_after: datetime | None = None

    @property
    def k(self) -> int:
        return self.settings.k_anonymity


def unexpected_rows(check: str, description: str, query: str) -> Any:
    """An expectation that `query` (SQL over `{batch}`, the suite's table) finds no row.

    `check` names it in build failures (gx:<suite>:<check>) and `description` says in words
    what it holds, for Data Docs and the failure message.
    """
    return gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=query, description=description, meta={"check": check}
    )


def small_group_flag(check_n: str, k: int) -> Any:
    """`is_small_group` is set exactly when the group has fewer than k learners
    (docs/design.md §2)."""
    return unexpected_rows(
        "small_groups_flagged",
        f"is_small_group is true exactly when {check_n} < k = {k}",
        f"SELECT * FROM {{batch}} WHERE is_small_group IS DISTINCT FROM ({check_n} < {k})",
    )


def rates_between_0_and_1(*columns: str) -> list[Any]:
    return [
        gxe.ExpectColumnValuesToBeBetween(column=column, min_value=0, max_value=1)
        for column in columns
    ]
