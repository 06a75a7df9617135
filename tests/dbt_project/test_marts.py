"""The marts of docs/design.md §4 on a small hand-made warehouse, loaded in three increments.

raw.* is written here directly, as the Beam pipeline would land it (a voiding statement
that lands later flags its target `is_voided`). After each load `dbt build` runs
incrementally; then `dbt build --full-refresh` must give identical marts, and every number
below is worked out by hand from docs/design.md §4 in the comments.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from skillstream import stats, warehouse
from skillstream.build import run_dbt
from skillstream.settings import Settings
from tests.conftest import make_settings, run_cli

pytestmark = pytest.mark.integration

VERB = "http://adlnet.gov/expapi/verbs/"
TUTOR_VERB = "https://w3id.org/skillstream/verbs/"
P = "https://lms.example/courses/p"
Q = "https://lms.example/courses/q"
ITEM = "https://tutor.example/items/1"
S = "skill:sql"
MARTS = (
    "cohort_outcomes",
    "cohort_competency",
    "capability_matrix",
    "cohort_comparison",
    "roi_quarterly",
    "roi_assumptions",
    "learner_programs",
    "learner_skills",
    "engagement_weekly",
    "engagement_by_hour",
    "at_risk_weekly",
    "at_risk_learners",
    "program_funnel",
)


def stmt(
    n: int,
    learner: str,
    verb: str,
    obj: str,
    at: str,
    *,
    declares: tuple[str, ...] = (),
    parents: tuple[str, ...] = (),
    grouping: tuple[str, ...] = (),
    skills: tuple[str, ...] = (),
    score: float | None = None,
    hours: float | None = None,
    completion: bool | None = None,
    cohort: str | None = None,
    voids: int | None = None,
) -> dict:
    return {
        "statement_id": f"s{n:03d}",
        "learner_id": learner,
        "verb_id": verb if "://" in verb else VERB + verb,
        "object_id": f"s{voids:03d}" if voids else obj,
        "object_type": "StatementRef" if voids else "Activity",
        "declared_course_ids": list(declares),
        "parent_ids": list(parents),
        "grouping_ids": list(grouping),
        "skill_ids": list(skills),
        "cohort": cohort,
        "score_scaled": score,
        "completion": completion,
        "duration_seconds": hours * 3600 if hours is not None else None,
        "voids_statement_id": f"s{voids:03d}" if voids else None,
        "occurred_at": datetime.fromisoformat(at),
    }


# Load 1, landed 2026-08-01. Roster: p1, p2, p3 pilot (team t1, 50/h); c1, c2 control (t2, 40/h).
LOAD_1 = [
    # p1: enrols in P 2026-07-01 (Q3) with 1 h; S from 07-01 09:10, mastered 07-03 09:10 (2.0 days)
    stmt(1, "p1", "launched", P, "2026-07-01 09:00", declares=(P,), hours=1),
    stmt(2, "p1", "answered", ITEM, "2026-07-01 09:10", parents=(P,), skills=(S,), score=0.5),
    stmt(3, "p1", "answered", ITEM, "2026-07-03 09:10", parents=(P,), skills=(S,), score=0.9),
    stmt(4, "p1", "completed", P, "2026-07-04 09:00"),
    # c1: P 07-02 with 2 h; S mastered after 4.0 days; a module of Q, not yet declared
    stmt(5, "c1", "launched", P, "2026-07-02 09:00", hours=2),
    stmt(6, "c1", "answered", ITEM, "2026-07-02 09:00", parents=(P,), skills=(S,), score=0.6),
    stmt(7, "c1", "answered", ITEM, "2026-07-06 09:00", parents=(P,), skills=(S,), score=0.85),
    stmt(8, "c1", "completed", P, "2026-07-10 09:00"),  # voided in load 2
    stmt(20, "c1", "experienced", Q + "/m1", "2026-07-03 09:00", parents=(Q,)),
    # c2: P 07-05 with 1 h; S mastered at once (0.0 days)
    stmt(9, "c2", "launched", P, "2026-07-05 09:00", hours=1),
    stmt(10, "c2", "answered", ITEM, "2026-07-05 09:00", parents=(P,), skills=(S,), score=0.9),
    # z9: erased (`skillstream forget`) after load 2; must vanish from every mart
    stmt(30, "z9", "launched", P, "2026-07-02 10:00", hours=3, cohort="leaver"),
    stmt(31, "z9", "answered", ITEM, "2026-07-02 10:10", parents=(P,), skills=(S,), score=0.9),
]
# Load 2, landed 2026-09-15: the voiding of s008 (landing after its target), retention checks.
LOAD_2 = [
    stmt(11, "admin", "voided", "", "2026-09-01 09:00", voids=8),
    # p1's first scored statement at >= mastered_at + 30 days (08-02 09:10): 0.7, not retained
    stmt(12, "p1", "answered", ITEM, "2026-08-02 09:10", skills=(S,), score=0.7),
    stmt(13, "p1", "answered", ITEM, "2026-08-05 09:00", skills=(S,), score=0.95),
    # c2: 08-01 is before 08-04 09:00, not a check; 08-10 is the first check: retained
    stmt(15, "c2", "answered", ITEM, "2026-08-01 09:00", skills=(S,), score=0.5),
    stmt(14, "c2", "answered", ITEM, "2026-08-10 09:00", skills=(S,), score=0.85),
    # u1: not on the roster, cohort from its extension; a tutor session and a second one
    stmt(16, "u1", "experienced", P + "/m1", "2026-09-01 09:00", parents=(P,), cohort="pilot"),
    stmt(21, "u1", TUTOR_VERB + "requested-hint", ITEM, "2026-09-01 09:10"),
    stmt(22, "u1", TUTOR_VERB + "received-feedback", ITEM, "2026-09-01 09:20"),
    stmt(23, "u1", "answered", ITEM, "2026-09-01 09:51", skills=(S,), score=0.4),
]
# Load 3, landed 2026-10-20: Q is declared now, so c1's s020 belongs to it from now on.
LOAD_3 = [
    stmt(17, "p2", "launched", P + "/m1", "2026-10-02 09:00", grouping=(P,), hours=0.5),
    stmt(19, "p2", "launched", Q, "2026-10-03 09:00", declares=(Q,)),
    stmt(18, "p3", "mastered", ITEM, "2026-10-05 09:00", skills=(S,)),
]
ROSTER = [
    ("p1", "pilot", "acme", "t1", "analyst", True, 50.0),
    ("p2", "pilot", "acme", "t1", "analyst", True, 50.0),
    ("p3", "pilot", "acme", "t1", "analyst", True, 50.0),
    ("c1", "control", "acme", "t2", "analyst", False, 40.0),
    ("c2", "control", "acme", "t2", "analyst", False, 40.0),
]
# p1 is competent on 2026-07-03: mean 11 in [06-03, 07-03), 16 in (07-03, 08-02]; 05-01 and
# 09-01 lie outside both windows.
KPIS = [
    ("p1", None, "tickets", date(2026, 5, 1), 100.0),
    ("p1", None, "tickets", date(2026, 6, 10), 10.0),
    ("p1", None, "tickets", date(2026, 6, 20), 12.0),
    ("p1", None, "tickets", date(2026, 7, 10), 15.0),
    ("p1", None, "tickets", date(2026, 7, 20), 17.0),
    ("p1", None, "tickets", date(2026, 9, 1), 100.0),
    ("p1", None, "csat", date(2026, 7, 10), 5.0),  # not valued: counts 0
    # team t2: c2 competent 07-05, c1 07-06; the lower median 07-05 is the team's date:
    # mean 20 in [06-05, 07-05), 26 in (07-05, 08-04]
    (None, "t2", "tickets", date(2026, 6, 20), 20.0),
    (None, "t2", "tickets", date(2026, 7, 5), 99.0),  # the day itself is in neither window
    (None, "t2", "tickets", date(2026, 7, 20), 26.0),
]


def land(settings: Settings, statements: list[dict], landed_at: str) -> None:
    con = warehouse.connect(settings)
    try:
        warehouse.ensure_raw_schema(con)
        for offset, row in enumerate(statements):
            row = {
                **row,
                "stored_at": row["occurred_at"],
                "kafka_partition": 0,
                "kafka_offset": offset,
                "content_hash": row["statement_id"],
                "statement": "{}",
                "landed_at": datetime.fromisoformat(landed_at),
                "is_voided": False,
            }
            columns = ", ".join(row)
            con.execute(
                f"INSERT INTO raw.statements ({columns}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
            if row["voids_statement_id"]:
                con.execute(
                    "UPDATE raw.statements SET is_voided = true WHERE statement_id = ?",
                    [row["voids_statement_id"]],
                )
    finally:
        con.close()


def erase(settings: Settings, learner: str) -> None:
    """What `skillstream forget` leaves in raw: no statement of the learner, a tombstone."""
    con = warehouse.connect(settings)
    try:
        con.execute("DELETE FROM raw.statements WHERE learner_id = ?", [learner])
        con.execute(
            "INSERT INTO raw.forgotten_learners VALUES (?, current_timestamp::TIMESTAMP)",
            [learner],
        )
    finally:
        con.close()


def dbt_build(settings: Settings, *args: str) -> None:
    result = run_dbt(settings, "build", *args, quiet=True)
    assert result.returncode == 0, result.stdout[-6000:]


def read_marts(settings: Settings) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return {
            mart: sorted(con.execute(f"SELECT * FROM marts.{mart}").fetchall(), key=repr)
            for mart in MARTS
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict, dict]:
    settings = make_settings(
        tmp_path_factory.mktemp("marts"),
        roi_programme_cost_per_learner="1000",
        roi_loaded_hourly_cost="60",
        roi_value_of_competent_day="100",
        roi_kpi_values="tickets=2",
    )
    land(settings, LOAD_1, "2026-08-01 00:00")
    con = warehouse.connect(settings)
    try:
        con.executemany(
            "INSERT INTO raw.roster VALUES (?, ?, ?, ?, ?, ?, ?, now())", [list(r) for r in ROSTER]
        )
        con.executemany(
            "INSERT INTO raw.kpi_observations VALUES (?, ?, ?, ?, ?, now())",
            [list(k) for k in KPIS],
        )
    finally:
        con.close()
    dbt_build(settings)
    land(settings, LOAD_2, "2026-09-15 00:00")
    dbt_build(settings)
    erase(settings, "z9")
    land(settings, LOAD_3, "2026-10-20 00:00")
    dbt_build(settings)
    incremental = read_marts(settings)
    # the erased learner is gone from the incremental models too, not only from the marts
    incremental["erased rows"] = query(
        settings,
        "SELECT count(*) FROM intermediate.int_statements_joined_to_programs "
        "WHERE learner_id = 'z9' UNION ALL SELECT count(*) "
        "FROM intermediate.int_statements_tagged_with_skills WHERE learner_id = 'z9'",
    )
    dbt_build(settings, "--full-refresh")
    return settings, incremental, read_marts(settings)


def query(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_incremental_loads_give_the_marts_of_a_full_rebuild(loaded) -> None:
    _, incremental, full = loaded
    for mart in MARTS:
        assert incremental[mart] == full[mart], mart
    assert all(full[mart] for mart in MARTS)
    assert incremental["erased rows"] == [(0,), (0,)]
    assert "z9" not in repr(incremental) and "leaver" not in repr(incremental)


def test_cohort_outcomes(loaded) -> None:
    settings, _, _ = loaded
    rows = query(
        settings,
        "SELECT cohort, program_id, quarter, enrolled, completed, completion_rate, "
        "seat_time_hours, is_small_group FROM marts.cohort_outcomes ORDER BY 1, 2, 3",
    )
    assert rows == [
        # c1 (2 h; its completion s008 voided), c2 (1 h)
        ("control", P, "2026Q3", 2, 0, 0.0, 3.0, True),
        # c1's s020 belongs to Q, declared only in load 3
        ("control", Q, "2026Q3", 1, 0, 0.0, 0.0, True),
        # p1 (1 h, completed), u1 (cohort pilot from its extension)
        ("pilot", P, "2026Q3", 2, 1, 0.5, 1.0, True),
        ("pilot", P, "2026Q4", 1, 0, 0.0, 0.5, True),  # p2 through grouping
        ("pilot", Q, "2026Q4", 1, 0, 0.0, 0.0, True),
    ]


def test_learner_skills_and_competency(loaded) -> None:
    settings, _, _ = loaded
    learners = query(
        settings,
        "SELECT learner_id, team, quarter, mastered, days_to_competency, latest_score, "
        "retention_30d_checked, retention_30d_retained FROM marts.learner_skills ORDER BY 1",
    )
    assert learners == [
        ("c1", "t2", "2026Q3", True, 4.0, 0.85, False, None),
        ("c2", "t2", "2026Q3", True, 0.0, 0.85, True, True),
        ("p1", "t1", "2026Q3", True, 2.0, 0.95, True, False),
        ("p3", "t1", "2026Q4", True, 0.0, None, False, None),  # verb mastered, no score
        ("u1", "unassigned", "2026Q3", False, None, 0.4, False, None),
    ]
    competency = query(
        settings,
        "SELECT cohort, quarter, learners, learners_mastered, mastery_rate, "
        "median_days_to_competency, p75_days_to_competency, retention_30d_checked, "
        "retention_30d_rate FROM marts.cohort_competency ORDER BY 1, 2",
    )
    assert competency == [
        ("control", "2026Q3", 2, 2, 1.0, 2.0, 3.0, 1, 1.0),
        ("pilot", "2026Q3", 2, 1, 0.5, 2.0, 2.0, 1, 0.0),
        ("pilot", "2026Q4", 1, 1, 1.0, 0.0, 0.0, 0, None),
    ]
    capability = query(
        settings,
        "SELECT team, learners, mastered, mastery_rate FROM marts.capability_matrix ORDER BY 1",
    )
    # members: t1 p1, p2, p3 (p2 never touched S); t2 c1, c2; unassigned u1 (not "admin",
    # who only voided a statement)
    assert capability == [("t1", 3, 2, 2 / 3), ("t2", 2, 2, 1.0), ("unassigned", 1, 0, 0.0)]


def test_cohort_comparison(loaded) -> None:
    settings, _, _ = loaded
    rows = query(
        settings,
        "SELECT metric, subject_id, cohort, baseline_cohort, value, baseline_value, difference, "
        "ci_low, ci_high, n, baseline_n, is_small_group FROM marts.cohort_comparison ORDER BY 1, 2",
    )
    completion_p = stats.newcombe_difference(1, 3, 0, 2)  # p1 of p1, u1, p2; none of c1, c2
    completion_q = stats.newcombe_difference(0, 1, 0, 1)  # p2; c1
    # days to competency: pilot p1 2.0, p3 0.0 (median 1.0); control c1 4.0, c2 0.0 (median 2.0)
    days = stats.bootstrap_median_difference(
        [0.0, 2.0], [0.0, 4.0], seed=stats.subject_seed(settings.comparison_seed, "pilot", S),
        resamples=settings.comparison_resamples,
    )
    retention = stats.newcombe_difference(0, 1, 1, 1)  # p1 not retained; c2 retained
    assert rows == [
        ("completion_rate", P, "pilot", "control", 1 / 3, 0.0, completion_p.estimate,
         completion_p.low, completion_p.high, 3, 2, True),
        ("completion_rate", Q, "pilot", "control", 0.0, 0.0, 0.0,
         completion_q.low, completion_q.high, 1, 1, True),
        ("median_days_to_competency", S, "pilot", "control", 1.0, 2.0, -1.0,
         days.low, days.high, 2, 2, True),
        ("retention_30d_rate", S, "pilot", "control", 0.0, 1.0, -1.0,
         retention.low, retention.high, 1, 1, True),
    ]  # fmt: skip


def test_roi_quarterly_and_its_assumptions(loaded) -> None:
    settings, _, _ = loaded
    rows = query(
        settings,
        "SELECT quarter, cohort, learners, costs, benefits, net_benefit, roi_pct, bcr, "
        "payback_months, seat_time_saved_value, competency_days_value, kpi_value, "
        "learners_with_seat_time, seat_time_coverage FROM marts.roi_quarterly ORDER BY 1, 2",
    )
    # A learner's seat time is known when each of their programs has a duration: c1's module
    # of Q has none, so only c2 (1 h) is known in the baseline -> mean 1 h per learner.
    # p1: saved (1 - 1) x 50 = 0; competency days 2.0 = control median 2.0 -> 0;
    #     KPI (16 - 11) tickets a day x 2 x 365 days = 3650.
    # u1's statements carry no duration: its seat time is unknown, so nothing is saved for it
    # (not the baseline's whole mean), and the Q3 pilot's seat-time coverage is 1 of 2.
    # p2 (Q4): P has a duration (0.5 h), Q none: unknown, nothing saved, coverage 0.
    # p3 is in no program: not in the ROI.
    # control: costs 2 x 1000 + 2 h x 40 + 1 h x 40 = 2120; no seat-time or competency-day
    # benefit against itself; team t2's KPI: (26 - 20) x 2 x 365 = 4380, shared by c1 and c2.
    q3_pilot_costs = 2 * 1000 + 1 * 50 + 0 * 60
    q3_pilot_benefits = 0 + 3650
    expected = [
        ("2026Q3", "control", 2, 2120, 4380, 4380 - 2120, (4380 - 2120) / 2120 * 100,
         4380 / 2120, 2120 / (4380 / 12), 0, 0, 4380, 1, 0.5),
        ("2026Q3", "pilot", 2, q3_pilot_costs, q3_pilot_benefits,
         q3_pilot_benefits - q3_pilot_costs,
         (q3_pilot_benefits - q3_pilot_costs) / q3_pilot_costs * 100,
         q3_pilot_benefits / q3_pilot_costs, q3_pilot_costs / (q3_pilot_benefits / 12),
         0, 0, 3650, 1, 0.5),
        ("2026Q4", "pilot", 1, 1025, 0, -1025, -100.0, 0.0, None, 0, 0, 0, 0, 0.0),
    ]  # fmt: skip
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        assert row[:3] == want[:3]
        assert row[3:] == pytest.approx(want[3:])
    assumptions = dict(query(settings, "SELECT name, value FROM marts.roi_assumptions"))
    assert assumptions["programme_cost_per_learner"] == "1000.0"
    assert assumptions["loaded_hourly_cost"] == "60.0"
    assert assumptions["value_of_competent_day"] == "100.0"
    assert assumptions["baseline_cohort"] == "control"
    assert assumptions["kpi_value:tickets"] == "2.0"
    assert {"benefit_period_months", "kpi_window_days", "mastery_threshold"} <= set(assumptions)


def test_engagement_weekly(loaded) -> None:
    settings, _, _ = loaded
    rows = query(
        settings,
        "SELECT week_start, cohort, team, active_learners, sessions, active_minutes, "
        "practice_attempts, hints_requested, feedback_given FROM marts.engagement_weekly "
        "WHERE week_start IN ('2026-06-29', '2026-07-06', '2026-08-31') ORDER BY 1, 2",
    )
    assert rows == [
        # c1: {s005, s006} (2 h reported), {s020}; c2: {s009, s010} (1 h): 3 sessions, 180 min
        (date(2026, 6, 29), "control", "t2", 2, 3, 180.0, 2, 0, 0),
        # p1: {s001, s002} (1 h reported > 10 min span), {s003}, {s004}
        (date(2026, 6, 29), "pilot", "t1", 1, 3, 60.0, 2, 0, 0),
        # c1: s007; the voided s008 counts nowhere
        (date(2026, 7, 6), "control", "t2", 1, 1, 0.0, 1, 0, 0),
        # u1: 09:00-09:20 (hint, feedback), then 31 minutes later a new session
        (date(2026, 8, 31), "pilot", "unassigned", 1, 2, 20.0, 1, 1, 1),
    ]


def test_skillstream_docs_generates_the_dbt_docs(loaded) -> None:
    settings, _, _ = loaded
    result = run_cli(settings, "docs")
    assert "index.html" in result.stdout
    catalog = json.loads(Path(settings.home / "dbt" / "target" / "catalog.json").read_text())
    assert "model.skillstream.roi_quarterly" in catalog["nodes"]
