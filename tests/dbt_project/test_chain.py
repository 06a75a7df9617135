"""The whole chain on a tiny hand-made organisation: file -> Kafka -> Beam -> DuckDB -> dbt -> GX.

Every number asserted here is worked out by hand in the comments from docs/design.md §4.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import orjson
import pytest

from skillstream.quality.publish import connect_snapshot
from skillstream.settings import Settings
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

COURSE = "http://adlnet.gov/expapi/activities/course"
PROGRAM = "https://lms.example/courses/p1"
VERB = "http://adlnet.gov/expapi/verbs/"
EXT = "https://w3id.org/skillstream/ext/"


def stmt(n: int, who: str, verb: str, obj: str, at: str, **extra) -> dict:
    statement = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "actor": {"mbox": f"mailto:{who}@example.com", "name": who.title()},
        "verb": {"id": VERB + verb},
        "object": {"id": obj, "objectType": "Activity"},
        "timestamp": at,
    }
    if obj == PROGRAM:
        statement["object"]["definition"] = {"type": COURSE}
    statement.update(extra)
    return statement


def parent(*ids: str, cohort: str | None = None) -> dict:
    context: dict = {"contextActivities": {"parent": [{"id": i} for i in ids]}}
    if cohort:
        context["extensions"] = {EXT + "cohort": cohort}
    return context


MODULE = "https://lms.example/courses/p1/m1"
STATEMENTS = [
    # a (roster: pilot): enrols 2026-07-02 (Q3), 0.5 h + 1 h seat time, completes.
    stmt(1, "a", "launched", PROGRAM, "2026-07-02T09:00:00Z", result={"duration": "PT30M"}),
    stmt(2, "a", "experienced", MODULE, "2026-07-03T09:00:00Z", context=parent(PROGRAM), result={"duration": "PT1H"}),
    stmt(3, "a", "completed", PROGRAM, "2026-07-10T09:00:00Z"),
    # b (roster: pilot): first statement 2026-09-30 23:30 UTC (Q3) through grouping; passes in Q4.
    stmt(
        4,
        "b",
        "experienced",
        MODULE,
        "2026-10-01T01:30:00+02:00",
        context={"contextActivities": {"grouping": [{"id": PROGRAM}]}},
        result={"duration": "PT2H"},
    ),
    stmt(5, "b", "passed", PROGRAM, "2026-10-02T09:00:00Z"),
    # c (roster: control): enrols in Q4 with 0.75 h; its completion is voided, so not completed.
    stmt(6, "c", "launched", PROGRAM, "2026-10-05T09:00:00Z", result={"duration": "PT45M"}),
    stmt(7, "c", "completed", PROGRAM, "2026-10-06T09:00:00Z", result={"duration": "PT10M"}),
    stmt(8, "c", "experienced", MODULE, "2026-10-06T10:00:00Z", context=parent(PROGRAM), result={"completion": True}),
    # d (no roster): cohort from the latest extension (pilot); completion via result.completion on the program.
    stmt(9, "d", "experienced", MODULE, "2026-07-05T09:00:00Z", context=parent(PROGRAM, cohort="control"), result={"duration": "PT15M"}),
    stmt(10, "d", "experienced", MODULE, "2026-07-06T09:00:00Z", context=parent(PROGRAM, cohort="pilot"), result={"duration": "PT15M"}),
    stmt(11, "d", "experienced", PROGRAM, "2026-07-07T09:00:00Z", result={"completion": True}),
    # e (no roster, no extension): unassigned, enrols in Q3, does not complete.
    stmt(12, "e", "launched", PROGRAM, "2026-08-01T09:00:00Z"),
    # f: activity outside any program; counts nowhere in cohort_outcomes.
    stmt(13, "f", "experienced", "https://lms.example/elsewhere", "2026-08-01T09:00:00Z"),
    # The voiding statement, arriving after its target.
    stmt(14, "admin", "voided", "00000000-0000-4000-8000-000000000007", "2026-10-07T09:00:00Z")
    | {"object": {"objectType": "StatementRef", "id": "00000000-0000-4000-8000-000000000007"}},
]
DUPLICATE = STATEMENTS[0]  # same id, same content: ignored
CONFLICT = dict(STATEMENTS[1], result={"duration": "PT9H"})  # same id, other content: quarantined
INVALID = {"actor": {"mbox": "mailto:g@example.com"}, "object": {"id": PROGRAM}}  # no verb
ROSTER = (
    "learner,cohort,org,team,role,is_pilot,hourly_cost\n"
    "a@example.com,pilot,acme,t1,analyst,true,50\n"
    "b@example.com,pilot,acme,t1,analyst,true,50\n"
    "c@example.com,control,acme,t2,analyst,false,50\n"
)


def write_input(directory: Path) -> tuple[Path, Path]:
    statements = directory / "statements.ndjson"
    lines = [orjson.dumps(s) for s in [*STATEMENTS, DUPLICATE, CONFLICT, INVALID]]
    lines.insert(3, b'{"this is": not json}')
    statements.write_bytes(b"\n".join(lines) + b"\n")
    roster = directory / "roster.csv"
    roster.write_text(ROSTER)
    return statements, roster


@pytest.fixture(scope="module")
def built(kafka_broker: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The tiny organisation run through every stage, as a user would with the CLI."""
    from tests.conftest import make_settings

    root = tmp_path_factory.mktemp("chain")
    settings = make_settings(
        root,
        bootstrap=kafka_broker.bootstrap,
        statements_topic="xapi.statements.chain",
        dlq_topic="xapi.dlq.chain",
        k_anonymity="2",
        # 2 of the 16 events are bad on purpose; the gate's default limit is 5 %
        quality_max_quarantine_share="0.2",
    )
    statements, roster = write_input(root)
    using = run_cli(settings, "up")  # the broker is not this home's: `up` only creates topics
    assert "using the Kafka broker already at" in using.stdout
    ingest = run_cli(settings, "ingest", "file", str(statements), check=False)
    assert ingest.returncode == 2 and '"dead_letters":1' in ingest.stdout
    run_cli(settings, "roster", "import", str(roster))
    run_cli(settings, "transform", "--until-caught-up")
    run_cli(settings, "build")
    return settings


def published_marts(settings: Settings) -> duckdb.DuckDBPyConnection:
    current = json.loads((settings.published_dir / "current.json").read_text())
    return connect_snapshot(current["snapshot"])


def test_cohort_outcomes_has_the_exact_numbers(built: Settings) -> None:
    con = published_marts(built)
    rows = con.execute(
        "SELECT cohort, program_id, quarter, enrolled, completed, completion_rate, "
        "round(seat_time_hours, 6), is_small_group FROM marts.cohort_outcomes ORDER BY cohort"
    ).fetchall()
    con.close()
    assert rows == [
        # c: enrolled Q4, completion voided; 0.75 h (the voided statement's 10 min do not count)
        ("control", PROGRAM, "2026Q4", 1, 0, 0.0, 0.75, True),
        # a (1.5 h), b (2 h), d (0.5 h), all completed
        ("pilot", PROGRAM, "2026Q3", 3, 3, 1.0, 4.0, False),
        # e
        ("unassigned", PROGRAM, "2026Q3", 1, 0, 0.0, 0.0, True),
    ]


def test_raw_layer_keeps_everything_and_lands_nothing_twice(built: Settings) -> None:
    con = duckdb.connect(str(built.warehouse), read_only=True)
    try:
        statements = con.execute("SELECT count(*), count(DISTINCT statement_id) FROM raw.statements").fetchall()
        voided = con.execute("SELECT statement_id FROM raw.statements WHERE is_voided").fetchall()
        reasons = con.execute("SELECT statement_id, reasons FROM raw.quarantine ORDER BY statement_id NULLS LAST").fetchall()
        emails = con.execute("SELECT count(*) FROM raw.statements WHERE statement ILIKE '%example.com%'").fetchall()
        runs = con.execute("SELECT is_published, gate_success FROM quality.runs").fetchall()
    finally:
        con.close()
    assert statements == [(14, 14)]
    assert voided == [("00000000-0000-4000-8000-000000000007",)]
    assert reasons[0][0] == "00000000-0000-4000-8000-000000000002" and "conflict" in reasons[0][1][0]
    assert reasons[1] == (None, ["verb.id: is required and must be an IRI string"])
    assert len(reasons) == 2
    assert emails == [(0,)]
    assert runs == [(True, True)]


def test_data_docs_are_written(built: Settings) -> None:
    current = json.loads((built.published_dir / "current.json").read_text())
    index = Path(current["data_docs"])
    assert index.exists()
    assert "marts_cohort_outcomes" in index.read_text()
