"""The HR roster import: `roster.csv` -> `raw.roster`, one snapshot per import.

Learners are stored by their salted learner id only; the email or account never reaches
the warehouse. A learner erased by `skillstream forget` is left out of every import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from skillstream import forget, warehouse
from skillstream.ingestion.sources import TableSource
from skillstream.ingestion.tables import csv_rows
from skillstream.settings import Settings
from skillstream.xapi.identity import IdentityError, learner_id, roster_ifi

REQUIRED_COLUMNS = ("learner", "cohort", "org", "team", "role", "is_pilot")
OPTIONAL_COLUMNS = ("hourly_cost",)
ROSTER_COLUMNS = (  # of raw.roster, the order of RosterImport.rows
    "learner_id",
    "cohort",
    "org",
    "team",
    "role",
    "is_pilot",
    "hourly_cost",
    "imported_at",
)
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


@dataclass
class RosterImport:
    rows: list[tuple] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    forgotten: int = 0  # rows of learners erased by `skillstream forget`, not imported


def parse_roster(path: Path, salt: str) -> RosterImport:
    """Valid rows as warehouse tuples, and one error per invalid row naming its line."""
    result = RosterImport()
    seen: dict[str, int] = {}
    imported_at = datetime.now(UTC).replace(tzinfo=None)
    for line, cells in csv_rows(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS):
        try:
            ifi = roster_ifi(cells["learner"])
            pilot = _BOOLEANS.get(cells["is_pilot"].lower())
            if pilot is None:
                raise ValueError(f"is_pilot: {cells['is_pilot']!r} is not true or false")
            cost_text = cells.get("hourly_cost", "")
            cost = float(cost_text) if cost_text else None
            if cost is not None and cost < 0:
                raise ValueError(f"hourly_cost: {cost_text!r} is negative")
        except (IdentityError, ValueError) as error:
            result.errors.append(f"{path}:{line}: {error}")
            continue
        lid = learner_id(ifi, salt)
        if lid in seen:
            result.errors.append(f"{path}:{line}: learner repeats line {seen[lid]}")
            continue
        seen[lid] = line
        result.rows.append(
            (
                lid,
                cells["cohort"] or None,
                cells["org"] or None,
                cells["team"] or None,
                cells["role"] or None,
                pilot,
                cost,
                imported_at,
            )
        )
    return result


def import_roster(settings: Settings, path: Path) -> RosterImport:
    """Replace `raw.roster` with the valid rows of the file but forgotten learners', in one
    transaction."""
    parsed = parse_roster(path, settings.learner_salt())
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        con.execute("BEGIN TRANSACTION")
        parsed.rows, parsed.forgotten = forget.without_forgotten(con, parsed.rows)
        con.execute("DELETE FROM raw.roster")
        if parsed.rows:
            warehouse.insert_rows(con, "raw.roster", ROSTER_COLUMNS, parsed.rows)
        con.execute("COMMIT")
    finally:
        con.close()
    return parsed


def _load(settings: Settings, path: Path) -> dict[str, Any]:
    result = import_roster(settings, path)
    return {
        "imported": len(result.rows),
        "skipped": len(result.errors),
        "forgotten": result.forgotten,
        "errors": result.errors,
    }


source = TableSource(
    name="roster",
    help=__doc__.strip().splitlines()[0] if __doc__ else "roster",
    load=_load,
    parameters=(
        click.Argument(["path"], type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    ),
)
