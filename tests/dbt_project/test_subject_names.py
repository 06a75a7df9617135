"""marts.subject_names: the names the pages show for programmes and skills, from the activity
definitions in the statements and a skills catalogue CSV, whose names win."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from skillstream import warehouse
from skillstream.build import run_dbt
from skillstream.settings import Settings
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

P = "https://lms.example/courses/p"
Q = "https://lms.example/courses/q"
X = "https://lms.example/courses/x"
SQL = "https://skills.example/sql"


def activity(iri: str, names: dict[str, str]) -> dict:
    return {"id": iri, "definition": {"name": names}}


STATEMENTS = [
    # P named twice: the later name wins; Q named in German only, as a parent
    (1, "2026-07-01", False, activity(P, {"en-US": "Python basics"}), [activity(Q, {"de": "Q"})]),
    (2, "2026-07-02", False, activity(P, {"en-US": "Python for analysts"}), []),
    (3, "2026-07-03", True, activity(X, {"en-US": "voided, so never shown"}), []),
]


def land(settings: Settings) -> None:
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        for n, day, voided, target, parents in STATEMENTS:
            statement = {
                "object": target,
                "context": {"contextActivities": {"parent": parents}},
            }
            at = datetime.fromisoformat(day)
            con.execute(
                "INSERT INTO raw.statements (statement_id, learner_id, verb_id, object_id, "
                "object_type, occurred_at, stored_at, kafka_partition, kafka_offset, "
                "content_hash, statement, landed_at, is_voided, declared_course_ids, parent_ids, "
                "grouping_ids, skill_ids) VALUES (?, 'l1', 'launched', ?, 'Activity', ?, ?, 0, ?, "
                "?, ?, ?, ?, [], [], [], [])",
                [f"s{n}", target["id"], at, at, n, f"h{n}", json.dumps(statement), at, voided],
            )
    finally:
        con.close()


def subject_names(root: Path, **overrides: str) -> dict[str, tuple]:
    settings = make_settings(root, **overrides)
    land(settings)
    result = run_dbt(settings, "build", "--select", "+subject_names", quiet=True)
    assert result.returncode == 0, result.stdout[-4000:]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute("SELECT subject_id, name, program FROM marts.subject_names").fetchall()
    finally:
        con.close()
    return {subject: (name, program) for subject, name, program in rows}


def test_names_come_from_the_activity_definitions(tmp_path: Path) -> None:
    assert subject_names(tmp_path) == {P: ("Python for analysts", None), Q: ("Q", None)}


def test_a_catalogue_name_wins_over_the_definitions(tmp_path: Path) -> None:
    catalogue = tmp_path / "skills.csv"
    catalogue.write_text(f"iri,name,program\n{Q},Querying data,\n{SQL},SQL,{P}\n")
    assert subject_names(tmp_path, skills_catalogue=str(catalogue)) == {
        P: ("Python for analysts", None),
        Q: ("Querying data", None),
        SQL: ("SQL", P),
    }


def test_a_catalogue_may_leave_out_the_program_column(tmp_path: Path) -> None:
    catalogue = tmp_path / "skills.csv"
    catalogue.write_text(f"iri,name\n{SQL},SQL\n")
    assert subject_names(tmp_path, skills_catalogue=str(catalogue))[SQL] == ("SQL", None)
