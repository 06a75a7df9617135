"""`skillstream report at-risk`: the learners at risk of the published build, named from a
roster the user already holds.

The warehouse knows learners only by their salted id (marts.at_risk_learners). Hashing each
roster entry with this home's salt finds its id, so the list names only people whose
identifier the user brought, and exists only on their machine (docs/privacy.md, at-risk list).
It is individual level by design, for a manager acting on their own people: the k rule of
the dashboards does not apply to it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from skillstream.dashboards import figures
from skillstream.dashboards.report import ReportError
from skillstream.ingestion.tables import ImportFileError
from skillstream.settings import Settings
from skillstream.xapi.identity import IdentityError, learner_id, roster_ifi

AT_RISK_COLUMNS = ["program_id", "cohort", "team", "last_seen_at", "days_inactive"]


@dataclass
class AtRiskList:
    """The named at-risk rows (the roster's own cells, then the at-risk columns)."""

    build_id: str
    table: pd.DataFrame
    at_risk: int  # learner × program rows at risk in the build
    unnamed: int  # of them, learners the roster does not hold
    errors: list[str] = field(default_factory=list)  # roster lines that name nobody


@dataclass
class _Roster:
    columns: list[str]
    rows: dict[str, dict[str, str]]  # learner id -> the roster's cells
    errors: list[str]


def named_at_risk(settings: Settings, roster: Path) -> AtRiskList:
    """Join the published build's at-risk learners to the roster's, by salted learner id."""
    build = _published(settings)
    people = _read_roster(roster, settings.learner_salt())
    at_risk = figures.at_risk_learners(build)
    known = at_risk["learner_id"].isin(people.rows.keys())
    cells = pd.DataFrame(
        [people.rows[lid] for lid in at_risk.loc[known, "learner_id"]], columns=people.columns
    )
    # a roster's own cohort or team column is the one the warehouse took its groups from
    added = [c for c in AT_RISK_COLUMNS if c not in people.columns]
    table = pd.concat([cells, at_risk.loc[known, added].reset_index(drop=True)], axis=1)
    return AtRiskList(
        build_id=build.build_id,
        table=table,
        at_risk=len(at_risk),
        unnamed=int((~known).sum()),
        errors=people.errors,
    )


def write_csv(named: AtRiskList, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    named.table.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")


def _published(settings: Settings) -> figures.Published:
    build = figures.published_build(settings)
    if build is None:
        raise ReportError("no build has been published yet; run `skillstream build` first")
    if figures.missing_tables(build, "at_risk_learners"):
        raise ReportError(
            f"the published build {build.build_id} has no marts.at_risk_learners; "
            "run `skillstream build` with this version of skillstream"
        )
    return build


def _read_roster(path: Path, salt: str) -> _Roster:
    """Each line's cells by its learner's id; a line naming nobody (or a learner twice) is an
    error of its own and the rest is kept."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        if "learner" not in columns:
            raise ImportFileError(f"{path}: missing column learner")
        roster = _Roster(columns, {}, [])
        seen: dict[str, int] = {}
        for row in reader:
            cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            try:
                lid = learner_id(roster_ifi(cells["learner"]), salt)
            except IdentityError as error:
                roster.errors.append(f"{path}:{reader.line_num}: {error}")
                continue
            if lid in seen:
                roster.errors.append(f"{path}:{reader.line_num}: learner repeats line {seen[lid]}")
                continue
            seen[lid] = reader.line_num
            roster.rows[lid] = cells
    return roster
