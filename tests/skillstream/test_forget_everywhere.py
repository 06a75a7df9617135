"""Forget means forgotten, on the whole chain: a real LRS (Ralph) pulled into the real broker,
the transform, dbt, GX and the published snapshots.

Bob is a learner and, in Ada's and Cy's statements, their instructor and team member. He is
forgotten; then everything that could bring him back runs: the roster and KPI re-imports, a
re-pull of the LRS, a replay of Kafka from offset 0 and a rebuild. No table of the warehouse
or of any published snapshot holds his learner id or his email in any column, while Ada's
statements stay, naming their instructor `forgotten`.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import orjson
import pytest

from skillstream import kafka
from skillstream.quality import publish
from skillstream.settings import Settings
from skillstream.xapi.identity import learner_id
from tests.conftest import run_cli
from tests.ingestion.test_lrs_source import PASSWORD, USER, Ralph, ralph  # noqa: F401
from tests.skillstream.test_forget_pipeline import forget_settings, statements

pytestmark = pytest.mark.integration

BOB = {"mbox": "mailto:Bob@Example.com", "name": "Bob Stone"}
EMAIL = "bob@example.com"


def with_bob_in_other_roles(events: list[dict]) -> list[dict]:
    """Ada's statements taught by Bob; Cy's done in a team Bob is a member of."""
    for event in events:
        who = event["actor"]["mbox"]
        if who == "mailto:ada@example.com":
            event["context"] = {**event.get("context", {}), "instructor": BOB}
        elif who == "mailto:cy@example.com":
            team = {"objectType": "Group", "name": "T1", "member": [BOB]}
            event["context"] = {**event.get("context", {}), "team": team}
    return events


def cys_invalid_event() -> bytes:
    """An event the transform quarantines (no verb), naming Bob as Cy's instructor."""
    return orjson.dumps(
        {
            "id": "00000000-0000-4000-8000-00000000ffff",
            "actor": {"mbox": "mailto:cy@example.com"},
            "object": {"id": "https://lms.example/courses/p1"},
            "context": {"instructor": BOB},
        }
    )


def produce(settings: Settings, value: bytes) -> None:
    producer = kafka.producer(settings)
    try:
        futures = [producer.send(settings.statements_topic, value=value)]
        producer.flush()
        assert kafka.wait_acknowledged(futures) == []
    finally:
        producer.close()


def mentions(database: Path | str, needles: list[str]) -> dict[str, int]:
    """Rows per table of the database (but the tombstones) in which any column, of any type
    read as text, contains one of the needles (case-insensitive)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'"
        ).fetchall()
        found = {}
        for schema, table in tables:
            if (schema, table) == ("raw", "forgotten_learners"):
                continue
            columns = con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? "
                "AND table_name = ?",
                [schema, table],
            ).fetchall()
            condition = " OR ".join(  # $n: the n-th needle, for every column
                f'contains(lower("{column}"::VARCHAR), lower(${n + 1}))'
                for (column,) in columns
                for n in range(len(needles))
            )
            (count,) = con.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE {condition}', needles
            ).fetchall()[0]
            if count:
                found[f"{schema}.{table}"] = int(count)
        return found
    finally:
        con.close()


def published(settings: Settings) -> list[Path]:
    """Every table file of the published area."""
    return [p for p in publish.published_files(settings.published_dir) if p.suffix == ".duckdb"]


def landed_count(settings: Settings, learner: str) -> int:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT count(*) FROM raw.statements WHERE learner_id = ?", [learner]
        ).fetchall()[0][0]
    finally:
        con.close()


def test_after_forget_no_writer_brings_the_learner_back_in_any_role(
    ralph: Ralph,  # noqa: F811
    kafka_broker: Settings,
    tmp_path: Path,
) -> None:
    settings = forget_settings(kafka_broker, tmp_path)
    ralph.post(with_bob_in_other_roles(statements()))
    roster, kpis = tmp_path / "roster.csv", tmp_path / "kpis.csv"
    roster.write_text(
        "learner,cohort,org,team,role,is_pilot,hourly_cost\n"
        "ada@example.com,pilot,acme,t1,analyst,true,50\n"
        "BOB@example.com,pilot,acme,t1,analyst,true,50\n"
        "cy@example.com,control,acme,t1,analyst,false,50\n"
    )
    kpis.write_text(
        "learner,team,kpi,observed_on,value\n"
        "bob@example.com,,tickets_per_day,2026-07-01,12\n"
        "ada@example.com,,tickets_per_day,2026-07-01,10\n"
    )
    pull = ("ingest", "lrs", ralph.url, "--auth", f"{USER}:{PASSWORD}", "-q")
    run_cli(settings, "up")
    run_cli(settings, *pull)
    produce(settings, cys_invalid_event())
    run_cli(settings, "roster", "import", str(roster))
    run_cli(settings, "kpis", "import", str(kpis))
    run_cli(settings, "transform", "--until-caught-up", "--quiet")
    run_cli(settings, "build", "--quiet")
    bob = learner_id("mailto:bob@example.com", settings.learner_salt())
    ada = learner_id("mailto:ada@example.com", settings.learner_salt())
    # Bob is everywhere before: his own rows, Ada's and Cy's statements, Cy's quarantined event.
    held = mentions(settings.warehouse, [bob])
    assert {"raw.statements", "raw.roster", "raw.kpi_observations", "raw.quarantine"} <= set(held)
    assert any(table.startswith("marts.") for table in held)
    assert any(mentions(table, [bob]) for table in published(settings))

    forgotten = orjson.loads(run_cli(settings, "forget", "--learner", EMAIL, "--quiet").stdout)
    assert forgotten["remaining"] == {} and forgotten["build"]["published"]

    # Everything that writes raw.* runs again.
    reimported = orjson.loads(run_cli(settings, "roster", "import", str(roster)).stdout)
    assert (reimported["imported"], reimported["forgotten"]) == (2, 1)
    reimported = orjson.loads(run_cli(settings, "kpis", "import", str(kpis)).stdout)
    assert (reimported["imported"], reimported["forgotten"]) == (1, 1)
    repulled = orjson.loads(run_cli(settings, *pull, "--restart").stdout)
    assert repulled["statements"] == len(statements())
    produce(settings, cys_invalid_event())
    con = duckdb.connect(str(settings.warehouse))
    con.execute("DELETE FROM raw.ingest_offsets")  # and replay the topic from offset 0
    con.close()
    run_cli(settings, "transform", "--until-caught-up", "--quiet")
    run_cli(settings, "build", "--quiet")

    snapshots = published(settings)
    assert snapshots
    for database in [settings.warehouse, *snapshots]:
        assert mentions(database, [bob, EMAIL, "Bob Stone"]) == {}, database
    assert landed_count(settings, ada) == 4  # Ada's statements stay, without Bob
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    instructors = con.execute(
        "SELECT DISTINCT statement->>'$.context.instructor.account.name' FROM raw.statements "
        "WHERE learner_id = ?",
        [ada],
    ).fetchall()
    con.close()
    assert instructors == [("forgotten",)]
    current = json.loads((settings.published_dir / "current.json").read_text())["snapshot"]
    assert any(mentions(p, [ada]) for p in publish.snapshot_files(current))  # still reported on
