from pathlib import Path

import duckdb

from skillstream import forget, warehouse
from skillstream.ingestion.kpis import import_kpis
from skillstream.settings import Settings
from skillstream.xapi.identity import learner_id

HEADER = "learner,team,kpi,observed_on,value\n"


def test_kpis_land_per_learner_or_team_and_reimport_replaces(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "kpis.csv"
    path.write_text(
        HEADER
        + "ada@example.com,,tickets_per_day,2026-07-01,12\n"
        + ",t1,csat,2026-07-01,4.5\n"
        + "ada@example.com,t1,csat,2026-07-01,4\n"
        + ",t1,csat,2026-13-01,4\n"
        + ",t1,csat,2026-07-02,lots\n"
    )
    result = import_kpis(settings, path)
    assert [e.split(": ", 1)[1] for e in result.errors] == [
        "exactly one of learner and team must be given",
        "observed_on: '2026-13-01' is not a YYYY-MM-DD date",
        "value: 'lots' is not a number",
    ]
    path.write_text(HEADER + ",t1,csat,2026-07-01,4.8\n")
    import_kpis(settings, path)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        "SELECT learner_id, team, kpi, observed_on::VARCHAR, value "
        "FROM raw.kpi_observations ORDER BY kpi"
    ).fetchall()
    con.close()
    assert rows == [
        (None, "t1", "csat", "2026-07-01", 4.8),
        (
            learner_id("mailto:ada@example.com", settings.learner_salt()),
            None,
            "tickets_per_day",
            "2026-07-01",
            12.0,
        ),
    ]


def test_a_large_kpi_file_lands_whole_and_replaces_whole(
    settings: Settings, tmp_path: Path
) -> None:
    # 300k rows: more than one DuckDB row group. A TEMP-table copy of the rows inside the
    # import's transaction once landed none of them while reporting all imported.
    path = tmp_path / "kpis.csv"
    days = [f"2026-0{m}-{d:02d}" for m in (1, 2, 3) for d in range(1, 29)]
    with path.open("w") as out:
        out.write(HEADER)
        for person in range(300_000 // len(days) + 1):
            for day in days:
                out.write(f"p{person}@example.com,,tickets_per_day,{day},{person % 17}\n")
    rows = sum(1 for _ in path.open()) - 1
    assert rows > 300_000
    for _ in range(2):  # the second import replaces every row of the first
        result = import_kpis(settings, path)
        assert len(result.rows) == rows and result.errors == []
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        (landed,) = con.execute("SELECT count(*) FROM raw.kpi_observations").fetchall()[0]
        con.close()
        assert landed == rows


def test_a_forgotten_learner_is_left_out_of_every_import(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "kpis.csv"
    path.write_text(
        HEADER
        + "BOB@example.com,,tickets_per_day,2026-07-01,12\n"
        + "ada@example.com,,tickets_per_day,2026-07-01,10\n"
        + ",t1,csat,2026-07-01,4.5\n"
    )
    salt = settings.learner_salt()
    bob = learner_id("mailto:bob@example.com", salt)
    import_kpis(settings, path)
    con = warehouse.connect(settings)
    forget.erase(con, bob, None, salt)
    con.close()

    result = import_kpis(settings, path)

    assert (len(result.rows), result.forgotten, result.errors) == (2, 1, [])
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    subjects = con.execute(
        "SELECT learner_id, team FROM raw.kpi_observations ORDER BY team NULLS FIRST"
    ).fetchall()
    con.close()
    assert subjects == [(learner_id("mailto:ada@example.com", salt), None), (None, "t1")]
