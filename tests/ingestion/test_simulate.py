"""The simulator: deterministic, valid, shaped like the real sources, and its planted effects
measurable by docs/design.md §4's definitions (here computed straight from the statements; the
known-answer test in tests/dbt_project checks the marts)."""

from __future__ import annotations

import copy
import csv
import json
import statistics
import tomllib
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from skillstream import settings as settings_module
from skillstream.ingestion.simulate import (
    COURSE_ID,
    DEFAULT_EFFECTS,
    Effects,
    run,
    simulate,
)
from skillstream.ingestion.sources.tutor import to_statement
from skillstream.settings import Settings
from skillstream.xapi.profile import COURSE_TYPE, EXT_SKILL
from skillstream.xapi.validate import validate_statement
from tests.conftest import run_cli

THETA = 0.8


def test_the_same_seed_gives_the_same_organisation() -> None:
    people_a, statements_a = simulate(learners=30, days=60, seed=3)
    people_b, statements_b = simulate(learners=30, days=60, seed=3)
    assert people_a == people_b
    assert list(statements_a) == list(statements_b)
    _, other = simulate(learners=30, days=60, seed=4)
    assert [s["id"] for s in other] != [s["id"] for s in simulate(learners=30, days=60, seed=3)[1]]


def test_statements_are_valid_unique_and_in_the_window() -> None:
    people, statements = simulate(learners=48, days=90, seed=1, start=date(2026, 3, 1))
    listed = list(statements)
    assert all(validate_statement(s) == [] for s in listed)
    assert len({s["id"] for s in listed}) == len(listed)
    assert min(s["timestamp"] for s in listed) >= "2026-03-01T"
    assert max(s["timestamp"] for s in listed) < "2026-05-30T"  # start + 90 days
    assert Counter(p.cohort for p in people) == {"pilot": 24, "control": 24}
    assert {p.org for p in people} == {"acme-europe", "acme-americas"}
    assert len({p.team for p in people}) == 4 and len({p.role for p in people}) > 1
    # both orgs have pilot and control teams
    assert {(p.org, p.cohort) for p in people} == {
        (o, c) for o in ("acme-europe", "acme-americas") for c in ("pilot", "control")
    }


def test_the_default_organisation_is_500_learners_in_teams() -> None:
    people, _ = simulate(learners=500, days=90, seed=7)
    assert len(people) == 500
    sizes = Counter(p.team for p in people)
    assert len(sizes) >= 40 and max(sizes.values()) - min(sizes.values()) <= 1


def _event_of(statement: dict[str, Any], learner: str) -> dict[str, Any]:
    """The AI-tutor event a simulated tutor statement stands for (docs/sources.md format)."""
    context = statement["context"]
    kind = context["extensions"]["https://w3id.org/skillstream/ext/source-event"]["type"]
    obj = statement["object"]
    event: dict[str, Any] = {
        "type": kind,
        "learner": learner,
        "time": statement["timestamp"],
        "session_id": context["extensions"]["https://w3id.org/skillstream/ext/tutor-session"],
        "tutor": "https://tutor.acme.example",
        "course": COURSE_ID,
    }
    if "/items/" in obj["id"]:
        event["item_id"] = obj["id"].rsplit("/", 1)[1]
        event["skill"] = obj["definition"]["extensions"][EXT_SKILL]
    result = statement.get("result", {})
    if kind == "item_served":
        event["difficulty"] = obj["definition"]["extensions"][
            "https://w3id.org/skillstream/ext/difficulty"
        ]
    elif kind == "answer_submitted":
        event["correct"] = result["success"]
        event["score"] = result["score"]["scaled"]
    elif kind == "hint_requested":
        event["hint_level"] = result["extensions"]["https://w3id.org/skillstream/ext/hint-level"]
    elif kind == "feedback_given":
        event["feedback"] = result["response"]
        event["kind"] = result["extensions"]["https://w3id.org/skillstream/ext/feedback-kind"]
    elif kind == "session_ended" and "duration" in result:
        event["duration_seconds"] = float(result["duration"][2:-1])
    return event


def test_tutor_statements_are_what_the_tutor_source_makes_of_the_same_events() -> None:
    _, statements = simulate(learners=24, days=60, seed=2)
    tutor = [s for s in statements if s["context"].get("platform") == "AI tutor"]
    kinds = Counter(
        s["context"]["extensions"]["https://w3id.org/skillstream/ext/source-event"]["type"]
        for s in tutor
    )
    assert set(kinds) == {
        "session_started",
        "session_ended",
        "item_served",
        "answer_submitted",
        "hint_requested",
        "feedback_given",
    }
    for statement in tutor:
        learner = statement["actor"]["mbox"].removeprefix("mailto:")
        mapped = to_statement(_event_of(statement, learner))
        ours = copy.deepcopy(statement)
        for s in (ours, mapped):
            s.pop("id")
            s["actor"].pop("name", None)
            s["object"]["definition"].get("extensions", {}).pop(
                "https://w3id.org/skillstream/ext/difficulty", None
            )
            if not s["object"]["definition"].get("extensions", True):
                s["object"]["definition"].pop("extensions")
        assert ours == mapped


def design_metrics(statements: list[dict[str, Any]], cohort_of: dict[str, str]) -> dict[str, Any]:
    """Completion, days to competency and 30-day retention per cohort, by docs/design.md §4."""
    by_learner: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in statements:
        by_learner[s["actor"]["mbox"]].append(s)
    enrolled: Counter[str] = Counter()
    completed: Counter[str] = Counter()
    days: dict[str, list[float]] = defaultdict(list)
    learners_on_skill: Counter[str] = Counter()
    checked: Counter[str] = Counter()
    retained: Counter[str] = Counter()
    for mbox, own in by_learner.items():
        cohort = cohort_of[mbox]
        own.sort(key=lambda s: s["timestamp"])
        enrolled[cohort] += 1
        if any(
            s["object"]["id"] == COURSE_ID and s["verb"]["id"].rsplit("/", 1)[1] == "completed"
            for s in own
        ):
            completed[cohort] += 1
        skills = {
            skill
            for s in own
            for skill in _skills(s)  # tagged in context or on the activity
        }
        for skill in skills:
            tagged = [s for s in own if skill in _skills(s)]
            learners_on_skill[cohort] += 1
            first = _at(tagged[0])
            mastery = [s for s in tagged if _scaled(s) is not None and _scaled(s) >= THETA]
            if not mastery:
                continue
            mastered = _at(mastery[0])
            days[cohort].append((mastered - first).total_seconds() / 86400)
            later = [
                s
                for s in tagged
                if _scaled(s) is not None and (_at(s) - mastered).total_seconds() >= 30 * 86400
            ]
            if later:
                checked[cohort] += 1
                retained[cohort] += _scaled(later[0]) >= THETA
    return {
        cohort: {
            "enrolled": enrolled[cohort],
            "completion_rate": completed[cohort] / enrolled[cohort],
            "mastery_rate": len(days[cohort]) / learners_on_skill[cohort],
            "median_days": statistics.median(days[cohort]),
            "retention_checked": checked[cohort],
            "retention_rate": retained[cohort] / checked[cohort],
        }
        for cohort in enrolled
    }


def _skills(s: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for ext in (
        s.get("context", {}).get("extensions", {}),
        s["object"].get("definition", {}).get("extensions", {}),
    ):
        value = ext.get(EXT_SKILL)
        found.update([value] if isinstance(value, str) else value or [])
    return found


def _scaled(s: dict[str, Any]) -> float | None:
    return s.get("result", {}).get("score", {}).get("scaled")


def _at(s: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(s["timestamp"].replace("Z", "+00:00"))


def test_the_planted_effects_are_what_the_definitions_measure() -> None:
    # 600 learners over 180 days: nobody's retention check falls after the window
    simulation, statements = run(learners=600, days=180, seed=11, start=date(2026, 1, 5))
    listed = list(statements)
    cohort_of = {f"mailto:{p.email}": p.cohort for p in simulation.people}
    measured = design_metrics(listed, cohort_of)
    control, pilot = measured["control"], measured["pilot"]
    e = DEFAULT_EFFECTS
    n = control["enrolled"]
    assert n == pilot["enrolled"] == 300

    def within(value: float, expected: float, n: int) -> bool:  # 4 standard errors
        return abs(value - expected) <= 4 * (expected * (1 - expected) / n) ** 0.5

    assert within(control["completion_rate"], e.control_completion, n)
    assert within(pilot["completion_rate"], e.pilot_completion, n)
    assert within(control["mastery_rate"], e.control_mastery, 2 * n)
    assert within(pilot["mastery_rate"], e.pilot_mastery, 2 * n)
    # lognormal(σ = 0.5) days: the sample median is within ±15 % at these n
    assert control["median_days"] == pytest.approx(e.control_days_to_competency, rel=0.15)
    assert pilot["median_days"] == pytest.approx(e.control_days_to_competency * 0.5, rel=0.15)
    assert within(control["retention_rate"], 0.15, control["retention_checked"])
    assert within(pilot["retention_rate"], 0.30, pilot["retention_checked"])
    # every learner who mastered got a retention check inside the window
    mastered = sum(1 for o in simulation.outcomes.values() if o.mastered_at is not None)
    assert control["retention_checked"] + pilot["retention_checked"] == mastered


def test_a_planted_share_of_learners_reports_no_duration() -> None:
    simulation, statements = run(learners=200, days=60, seed=5)
    listed = list(statements)
    unreported = {f"mailto:learner{i:05d}@acme.example" for i in simulation.unreported_durations}
    with_duration = {s["actor"]["mbox"] for s in listed if "duration" in s.get("result", {})}
    assert with_duration.isdisjoint(unreported)
    assert with_duration | unreported == {s["actor"]["mbox"] for s in listed}
    assert 0.04 <= len(unreported) / 200 <= 0.16  # 10 % planted
    # the share is drawn apart from the other effects: without it the organisation is the same
    none = DEFAULT_EFFECTS.with_settings(["unreported_duration_share=0"])
    simulation_none, statements_none = run(learners=200, days=60, seed=5, effects=none)
    assert not simulation_none.unreported_durations
    assert [s["id"] for s in statements_none] == [s["id"] for s in listed]


def test_effects_are_settable_by_name() -> None:
    changed = DEFAULT_EFFECTS.with_settings(["pilot_completion=0.5", "control-completion=0"])
    assert changed.pilot_completion == 0.5 and changed.control_completion == 0
    _, statements = run(learners=48, days=90, seed=4, effects=changed)
    completions = Counter(
        s["context"]["extensions"]["https://w3id.org/skillstream/ext/cohort"]
        for s in statements
        if s["verb"]["id"].endswith("/completed")
    )
    assert completions["control"] == 0 and completions["pilot"] > 0
    with pytest.raises(ValueError, match="NAME one of"):
        DEFAULT_EFFECTS.with_settings(["pilot_speed=2"])
    with pytest.raises(ValueError, match="not a number"):
        DEFAULT_EFFECTS.with_settings(["pilot_completion=lots"])
    with pytest.raises(ValueError, match="share from 0 to 1"):
        DEFAULT_EFFECTS.with_settings(["pilot_completion=1.5"])
    assert Effects().median_days_to_competency("pilot") == 10.0


def test_the_cli_writes_statements_that_validate_roster_kpis_and_settings(
    settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "org" / "statements.ndjson"
    result = run_cli(
        settings,
        "simulate",
        "--learners",
        "36",
        "--days",
        "60",
        "--seed",
        "3",
        "--start",
        "2026-02-01",
        "--effect",
        "spend_per_employee_year=2000",
        "--out",
        str(out),
    )
    assert "simulated 36 learners" in result.stdout
    validated = run_cli(settings, "validate", str(out), "--json")
    lines = [orjson.loads(line) for line in validated.stdout.splitlines()]
    assert len(lines) == len(out.read_bytes().splitlines()) > 36 * 20
    assert all(line["valid"] for line in lines), [x for x in lines if not x["valid"]][:2]
    first = orjson.loads(out.read_bytes().splitlines()[0])
    assert first["timestamp"].startswith("2026-02")
    assert first["object"]["definition"]["type"] == COURSE_TYPE

    with (tmp_path / "org" / "roster.csv").open() as handle:
        roster = list(csv.DictReader(handle))
    assert len(roster) == 36 and set(roster[0]) == {
        "learner",
        "cohort",
        "org",
        "team",
        "role",
        "is_pilot",
        "hourly_cost",
    }
    written = tmp_path / "org" / "settings.toml"
    settings_file = tomllib.loads(written.read_text())
    assert settings_file["baseline_cohort"] == "control"
    assert settings_file["roi"]["programme_cost_per_learner"] == 2000
    assert settings_file["roi"]["kpi_values"] == {"tickets_resolved_per_day": 12.0}
    # a complete config: the settings loader reads its ROI and its pilot
    loaded = settings_module.load({"SKILLSTREAM_CONFIG": str(written)}, cwd=tmp_path)
    assert loaded.roi.programme_cost_per_learner == 2000
    (pilot,) = loaded.pilots
    assert (pilot.cohort, pilot.baseline_cohort, pilot.metric) == ("pilot", "control", "completion")
    assert (pilot.program, pilot.start, pilot.window_days) == (COURSE_ID, date(2026, 2, 1), 30)
    assert pilot.lift == 0.2
    imported = run_cli(settings, "kpis", "import", str(tmp_path / "org" / "kpis.csv"))
    report = json.loads(imported.stdout.splitlines()[-1])
    assert report["skipped"] == 0 and report["imported"] >= 36 * 12  # weekly over 88 days
    run_cli(settings, "roster", "import", str(tmp_path / "org" / "roster.csv"))

    bad = run_cli(settings, "simulate", "--out", str(out), "--effect", "x=1", check=False)
    assert bad.returncode == 1 and "--effect 'x=1'" in bad.stderr


def test_kpis_rise_from_the_program_start_by_the_planted_gain_and_pilot_effect() -> None:
    effects = DEFAULT_EFFECTS.with_settings(["pilot_kpi_effect=3", "kpi_gain=0.1"])
    simulation, statements = run(learners=120, days=120, seed=5, effects=effects)
    launched = {
        s["actor"]["mbox"].removeprefix("mailto:"): s["timestamp"][:10]
        for s in statements
        if s["verb"]["id"].endswith("/launched")
    }
    cohort = {p.email: p.cohort for p in simulation.people}
    before: dict[str, list[float]] = defaultdict(list)
    after: dict[str, list[float]] = defaultdict(list)
    for email, kpi, day, value in simulation.kpi_rows(5):
        assert kpi == "tickets_resolved_per_day"
        if day != launched[email]:  # the start day is in neither window
            (after if day > launched[email] else before)[email].append(value)
    assert set(before) == set(after) == set(launched) and len(launched) == 120
    changes: dict[str, list[float]] = defaultdict(list)
    for email in launched:
        mean_before = statistics.mean(before[email])
        changes[cohort[email]].append(statistics.mean(after[email]) - mean_before)
        if cohort[email] == "control":  # the course's own gain, relative, in both cohorts
            ratio = statistics.mean(after[email]) / mean_before
            assert ratio == pytest.approx(1.10, abs=0.06)
    # the planted difference in differences: the pilot's change less the control's
    did = statistics.mean(changes["pilot"]) - statistics.mean(changes["control"])
    assert did == pytest.approx(3.0, abs=0.4)


def test_to_http_posts_batches_with_basic_auth_and_names_a_refusal() -> None:
    import base64
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from skillstream.ingestion.simulate import PostError, post_statements

    received: list[tuple[str, str | None, list[dict[str, Any]]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers.get("Authorization"), orjson.loads(body)))
            refuse = len(received) > 3
            self.send_response(400 if refuse else 200)
            self.end_headers()
            self.wfile.write(b'{"error": "no more"}' if refuse else b"[]")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        _, statements = simulate(learners=12, days=60, seed=8)
        listed = list(statements)
        url = f"http://key:secret@127.0.0.1:{port}/xapi/statements"
        sent = post_statements(url, iter(listed[:250]), batch=100)
        assert sent == 250 and [len(batch) for _, _, batch in received] == [100, 100, 50]
        expected = "Basic " + base64.b64encode(b"key:secret").decode()
        assert {(path, auth) for path, auth, _ in received} == {("/xapi/statements", expected)}
        assert [s for _, _, batch in received for s in batch] == listed[:250]
        with pytest.raises(PostError, match="answered 400 after 0 statements"):
            post_statements(url, iter(listed[:10]))
    finally:
        server.shutdown()
    with pytest.raises(PostError, match="expected an http"):
        post_statements("ftp://example.com/x", iter([]))
