from pathlib import Path

import duckdb
import pytest

from skillstream import forget, warehouse
from skillstream.ingestion.roster import import_roster, parse_roster
from skillstream.ingestion.tables import ImportFileError
from skillstream.settings import Settings
from skillstream.xapi.identity import learner_id

HEADER = "learner,cohort,org,team,role,is_pilot,hourly_cost\n"


def test_valid_rows_land_bad_rows_are_reported_by_line(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        HEADER
        + "Ada@Example.com,pilot,acme,t1,analyst,true,60\n"
        + "nobody,control,acme,t2,analyst,false,\n"
        + "https://lms.example|u-7,control,acme,t2,engineer,false,\n"
        + "ada@example.com,control,acme,t3,analyst,false,\n"
        + "bo@example.com,control,acme,t3,analyst,maybe,\n"
    )
    result = import_roster(settings, path)
    assert [e.split(": ", 1)[1] for e in result.errors] == [
        "learner: 'nobody' is neither an email nor homePage|name",
        "learner repeats line 2",
        "is_pilot: 'maybe' is not true or false",
    ]
    assert [e.split(":")[1] for e in result.errors] == ["3", "5", "6"]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        "SELECT learner_id, cohort, team, is_pilot, hourly_cost FROM raw.roster ORDER BY team"
    ).fetchall()
    salt = settings.learner_salt()
    assert rows == [
        (learner_id("mailto:ada@example.com", salt), "pilot", "t1", True, 60.0),
        (learner_id("https://lms.example|u-7", salt), "control", "t2", False, None),
    ]
    con.close()


def test_an_import_replaces_the_previous_one(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        HEADER
        + "a@x.example,pilot,acme,t1,analyst,true,\nb@x.example,pilot,acme,t1,analyst,true,\n"
    )
    import_roster(settings, path)
    path.write_text(HEADER + "c@x.example,control,acme,t1,analyst,false,\n")
    import_roster(settings, path)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM raw.roster").fetchone() == (1,)
    con.close()


def test_missing_columns_refuse_the_file(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("learner,cohort\na@b.c,pilot\n")
    with pytest.raises(ImportFileError, match="missing column\\(s\\) org, team, role, is_pilot"):
        parse_roster(path, "salt")


def test_a_forgotten_learner_is_left_out_of_every_import(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        HEADER
        + "ada@example.com,pilot,acme,t1,analyst,true,\n"
        + "Bob@Example.com,pilot,acme,t1,analyst,true,\n"
    )
    import_roster(settings, path)
    salt = settings.learner_salt()
    con = warehouse.connect(settings)
    forget.erase(con, learner_id("mailto:bob@example.com", salt), None, salt)
    con.close()

    result = import_roster(settings, path)

    assert (len(result.rows), result.forgotten, result.errors) == (1, 1, [])
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    landed = con.execute("SELECT learner_id FROM raw.roster").fetchall()
    con.close()
    assert landed == [(learner_id("mailto:ada@example.com", salt),)]
