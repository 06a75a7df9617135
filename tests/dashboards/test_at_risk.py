"""`skillstream report at-risk`: the published build's at-risk learners, named from a roster the
user holds, by hashing its learner column with the home's salt."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

from skillstream import warehouse
from skillstream.settings import Settings
from skillstream.xapi.identity import learner_id
from tests.dashboards.conftest import P1, P2, publish

ADA = "mailto:ada@example.org"
BOB = "https://sso.example|bob"
CAROL = "mailto:carol@example.org"  # at risk, in no roster
AT_RISK = [
    # learner IFI, program, cohort, org, team, role, last seen, days inactive
    (ADA, P1, "pilot", "acme", "data", "analyst", "2026-11-20 09:30:00", 17),
    (BOB, P2, "control", "acme", "ops", "engineer", "2026-11-30 14:00:00", 7),
    (CAROL, P1, "pilot", "acme", "data", "analyst", "2026-11-01 08:00:00", 36),
]


@pytest.fixture
def at_risk_published(settings: Settings) -> Settings:
    salt = settings.learner_salt()
    con = warehouse.connect(settings)
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE TABLE marts.at_risk_learners (learner_id VARCHAR, program_id VARCHAR, "
        "cohort VARCHAR, org VARCHAR, team VARCHAR, role VARCHAR, last_seen_at TIMESTAMP, "
        "days_inactive INTEGER)"
    )
    con.executemany(
        "INSERT INTO marts.at_risk_learners VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(learner_id(ifi, salt), *rest) for ifi, *rest in AT_RISK],
    )
    con.close()
    publish(settings)
    return settings


def write_roster(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "name"])
        writer.writerows(rows)
    return path


def test_the_at_risk_list_names_the_rosters_learners_only(
    at_risk_published: Settings, tmp_path: Path, cli: Callable
) -> None:
    roster = write_roster(
        tmp_path / "roster.csv",
        [
            ("ADA@Example.org", "Ada Lovelace"),  # an email as HR writes it
            ("https://sso.example|bob", "Bob Stone"),
            ("dan@example.org", "Dan Brown"),  # not at risk
            ("not an email", "Nobody"),
        ],
    )
    out = tmp_path / "out" / "at-risk.csv"
    result = cli(at_risk_published, "report", "at-risk", "--roster", str(roster), "--out", str(out))
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["name"], r["program_id"], r["days_inactive"]) for r in rows] == [
        ("Ada Lovelace", P1, "17"),  # the longest inactive first
        ("Bob Stone", P2, "7"),
    ]
    assert rows[0]["learner"] == "ADA@Example.org"
    assert (rows[0]["cohort"], rows[0]["team"]) == ("pilot", "data")
    assert rows[0]["last_seen_at"] == "2026-11-20T09:30:00Z"
    assert "carol" not in out.read_text()
    assert "2 of 3 at-risk" in result.stdout and "(1 not in it)" in result.stdout
    assert f"{roster}:5: learner: 'not an email' is neither an email" in result.stderr


def test_a_roster_without_a_learner_column_is_refused(
    at_risk_published: Settings, tmp_path: Path, cli: Callable
) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name\nada@example.org,Ada\n")
    out = tmp_path / "at-risk.csv"
    args = ("report", "at-risk", "--roster", str(roster), "--out", str(out))
    result = cli(at_risk_published, *args, check=False)
    assert result.returncode == 1
    assert f"error: {roster}: missing column learner" in result.stderr
    assert not out.exists()


def test_there_is_no_list_before_a_build_is_published(
    settings: Settings, tmp_path: Path, cli: Callable
) -> None:
    roster = write_roster(tmp_path / "roster.csv", [("ada@example.org", "Ada")])
    out = tmp_path / "at-risk.csv"
    args = ("report", "at-risk", "--roster", str(roster), "--out", str(out))
    result = cli(settings, *args, check=False)
    assert result.returncode == 1
    assert "no build has been published yet" in result.stderr
    assert not out.exists()
