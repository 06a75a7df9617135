"""The business KPI import: `kpis.csv` -> `raw.kpi_observations`.

Columns: `learner` (an email or homePage|name) or `team` (one of the two per row), `kpi`
(a name such as `tickets_resolved_per_day`), `observed_on` (YYYY-MM-DD), `value` (a number).
Importing the same learner or team, KPI and day again replaces the value. A learner erased
by `skillstream forget` is left out of every import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from skillstream import forget, warehouse
from skillstream.ingestion.sources import TableSource
from skillstream.ingestion.tables import csv_rows
from skillstream.settings import Settings
from skillstream.xapi.identity import IdentityError, learner_id, roster_ifi

COLUMNS = ("learner", "team", "kpi", "observed_on", "value")
TABLE_COLUMNS = ("learner_id", "team", "kpi", "observed_on", "value", "imported_at")


@dataclass
class KpiImport:
    rows: list[tuple] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    forgotten: int = 0  # rows of learners erased by `skillstream forget`, not imported


def _parse_row(cells: dict[str, str], salt: str) -> tuple[str | None, date, float]:
    if bool(cells["learner"]) == bool(cells["team"]):
        raise ValueError("exactly one of learner and team must be given")
    learner = learner_id(roster_ifi(cells["learner"]), salt) if cells["learner"] else None
    if not cells["kpi"]:
        raise ValueError("kpi: is empty")
    try:
        observed_on = date.fromisoformat(cells["observed_on"])
    except ValueError:
        raise ValueError(
            f"observed_on: {cells['observed_on']!r} is not a YYYY-MM-DD date"
        ) from None
    try:
        value = float(cells["value"])
    except ValueError:
        raise ValueError(f"value: {cells['value']!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"value: {cells['value']!r} is not a finite number")
    return learner, observed_on, value


def parse_kpis(path: Path, salt: str) -> KpiImport:
    result = KpiImport()
    imported_at = datetime.now(UTC).replace(tzinfo=None)
    for line, cells in csv_rows(path, COLUMNS):
        try:
            learner, observed_on, value = _parse_row(cells, salt)
        except (IdentityError, ValueError) as error:
            result.errors.append(f"{path}:{line}: {error}")
            continue
        result.rows.append(
            (learner, cells["team"] or None, cells["kpi"], observed_on, value, imported_at)
        )
    return result


def import_kpis(settings: Settings, path: Path) -> KpiImport:
    """Upsert the valid rows but forgotten learners' into `raw.kpi_observations`, in one
    transaction."""
    parsed = parse_kpis(path, settings.learner_salt())
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        con.execute("BEGIN TRANSACTION")
        parsed.rows, parsed.forgotten = forget.without_forgotten(con, parsed.rows)
        with warehouse.registered_rows(con, "incoming_kpis", TABLE_COLUMNS, parsed.rows):
            con.execute(
                """
                DELETE FROM raw.kpi_observations AS o USING incoming_kpis AS i
                WHERE o.learner_id IS NOT DISTINCT FROM i.learner_id
                  AND o.team IS NOT DISTINCT FROM i.team
                  AND o.kpi = i.kpi AND o.observed_on = i.observed_on
                """
            )
            con.execute(
                f"INSERT INTO raw.kpi_observations ({', '.join(TABLE_COLUMNS)}) "
                "SELECT * FROM incoming_kpis"
            )
        con.execute("COMMIT")
    finally:
        con.close()
    return parsed


def _load(settings: Settings, path: Path) -> dict[str, Any]:
    result = import_kpis(settings, path)
    return {
        "imported": len(result.rows),
        "skipped": len(result.errors),
        "forgotten": result.forgotten,
        "errors": result.errors,
    }


source = TableSource(
    name="kpis",
    help=__doc__.strip().splitlines()[0] if __doc__ else "kpis",
    load=_load,
    parameters=(
        click.Argument(["path"], type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    ),
)
