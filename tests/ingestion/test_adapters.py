"""The Caliper and AI-tutor adapters: each documented mapping, on realistic events."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from skillstream.ingestion.sources import RawEvent, SourceContext, caliper, tutor
from skillstream.settings import Settings
from skillstream.xapi import profile
from skillstream.xapi.validate import validate_statement
from tests.conftest import run_cli
from tests.ingestion.conftest import events_only
from tests.ingestion.test_ingest_file import read_topic

DATA = Path(__file__).parent / "data"


def mapped(module, path: Path, settings: Settings) -> list[RawEvent]:
    return list(events_only(module.read(SourceContext(settings, {}), paths=(path,))))


def test_caliper_envelope_maps_every_family(settings: Settings) -> None:
    events = mapped(caliper, DATA / "caliper-envelope.json", settings)
    statements = [e.statement for e in events if e.error is None]
    assert all(validate_statement(s) == [] for s in statements)
    verbs = [s["verb"]["id"].rsplit("/", 1)[1] for s in statements]
    assert verbs == [
        "logged-in",
        "submit",
        "answered",
        "completed",
        "paused",
        "interacted",
        "scored",
    ]
    login, submit, answer, _, pause, speed, grade = statements
    assert login["id"] == "3a648e68-f00d-4c08-aa59-8738e1884f2c"
    assert login["actor"] == {
        "objectType": "Agent",
        "name": "Ada Lovelace",
        "account": {
            "homePage": "https://lms.example.edu",
            "name": "https://lms.example.edu/users/554433",
        },
    }
    assert login["context"]["platform"] == "Example LMS"
    assert submit["result"]["duration"] == "PT12M30S"
    assert (
        submit["context"]["contextActivities"]["grouping"][0]["definition"]["type"]
        == profile.COURSE_TYPE
    )
    assert submit["context"]["registration"] == login["context"]["registration"]  # same session
    assert answer["result"]["response"] == "a[,]c"
    assert answer["context"]["contextActivities"]["parent"][0]["id"].endswith("/assess/1")
    assert pause["result"]["extensions"]["https://w3id.org/xapi/video/extensions/time"] == 185
    assert speed["context"]["extensions"][profile.EXT_SOURCE_EVENT]["action"] == "ChangedSpeed"
    # Grading: the learner is the assignee, the grader the instructor.
    assert grade["actor"]["account"]["name"] == "https://lms.example.edu/users/554433"
    assert grade["context"]["instructor"]["name"] == "Grace Hopper"
    assert grade["object"]["id"] == "https://lms.example.edu/courses/7/assess/1"
    assert grade["result"]["score"] == {"raw": 8.5, "min": 0.0, "max": 10.0, "scaled": 0.85}
    errors = [e.error for e in events if e.error is not None]
    assert errors == [
        "caliper: a CourseSection entity (a describe), not an event",
        "caliper: no mapping for ToolUseEvent Used (docs/sources.md lists them)",
    ]


def test_caliper_1_1_and_bare_events(settings: Settings, tmp_path: Path) -> None:
    outcome = {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "id": "54b54b42-dd02-42f8-88ed-07bd719bfb7c",
        "type": "GradeEvent",
        "actor": {"id": "https://lms.example.edu/apps/grader", "type": "SoftwareApplication"},
        "action": "Graded",
        "object": {
            "id": "https://lms.example.edu/attempts/9",
            "type": "Attempt",
            "assignee": {"id": "https://lms.example.edu/users/1", "type": "Person"},
            "assignable": {
                "id": "https://lms.example.edu/items/9",
                "type": "AssignableDigitalResource",
            },
        },
        "generated": {"type": "Result", "normalScore": 42, "maxResultScore": 50},
        "eventTime": "2026-01-05T07:55:48.048Z",
    }
    path = tmp_path / "events.ndjson"
    path.write_bytes(orjson.dumps(outcome) + b"\n")
    (event,) = mapped(caliper, path, settings)
    assert validate_statement(event.statement) == []
    assert "instructor" not in event.statement["context"]  # a program graded it
    assert event.statement["result"]["score"]["scaled"] == pytest.approx(0.84)
    assert event.statement["id"] == "54b54b42-dd02-42f8-88ed-07bd719bfb7c"


def test_tutor_events_map_to_the_profile(settings: Settings) -> None:
    events = mapped(tutor, DATA / "tutor-session.ndjson", settings)
    assert [e.error for e in events if e.error] == ["tutor event: correct: must be true or false"]
    statements = {
        e.statement["context"]["extensions"][profile.EXT_SOURCE_EVENT]["id"]: e.statement
        for e in events
        if e.statement and e.error is None
    }
    assert all(validate_statement(s) == [] for s in statements.values())
    assert len({s["context"]["registration"] for s in statements.values()}) == 1
    started = statements["e1"]
    assert started["verb"]["id"] == "http://adlnet.gov/expapi/verbs/initialized"
    assert (
        started["context"]["contextActivities"]["parent"][0]["definition"]["type"]
        == profile.COURSE_TYPE
    )
    served = statements["e2"]
    assert served["verb"]["id"] == profile.ITEM_SERVED_VERB
    assert served["object"]["definition"]["extensions"] == {
        profile.EXT_SKILL: "sql-joins",
        profile.EXT_DIFFICULTY: 0.4,
    }
    answer = statements["e4"]
    assert answer["result"] == {
        "success": True,
        "completion": True,
        "score": {"scaled": 0.85},
        "response": "LEFT JOIN",
    }
    assert answer["context"]["extensions"][profile.EXT_SKILL] == "sql-joins"
    assert statements["e3"]["result"]["extensions"] == {profile.EXT_HINT_LEVEL: 1}
    assert statements["e5"]["result"]["response"].startswith("Right")
    assert statements["e6"]["result"]["extensions"][profile.EXT_DIFFICULTY_TO] == 0.6
    assert statements["e8"]["result"]["duration"] == "PT600S"
    again = mapped(tutor, DATA / "tutor-session.ndjson", settings)
    assert [e.statement["id"] for e in again if e.statement and not e.error] == [
        s["id"] for s in statements.values()
    ]  # stable ids: reading the log again lands nothing twice


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "chatted"}, "type: must be one of session_started"),
        ({"learner": "ada"}, "learner: 'ada' is neither an email nor homePage|name"),
        ({"time": "yesterday"}, "time: must be an RFC 3339"),
        ({"difficulty": 3}, "difficulty: must be a number from 0 to 1"),
        ({"tutor": "tutor"}, "tutor: must be the tutor's IRI"),
    ],
)
def test_bad_tutor_events_say_why(change: dict, reason: str) -> None:
    event = {
        "type": "item_served",
        "learner": "ada@example.com",
        "time": "2026-03-02T09:00:05Z",
        "session_id": "s",
        "tutor": "https://tutor.example.com",
        "item_id": "q",
        "skill": "k",
        "difficulty": 0.5,
        **change,
    }
    with pytest.raises(tutor.TutorEventError) as error:
        tutor.to_statement(event)
    assert str(error.value).startswith(reason)


@pytest.mark.integration
def test_ingest_caliper_and_tutor_to_kafka(pipeline_settings: Settings) -> None:
    result = run_cli(
        pipeline_settings,
        "ingest",
        "caliper",
        str(DATA / "caliper-envelope.json"),
        "-q",
        check=False,
    )
    assert result.returncode == 2  # two items dead-lettered
    assert orjson.loads(result.stdout)["statements"] == 7
    result = run_cli(
        pipeline_settings, "ingest", "tutor", str(DATA / "tutor-session.ndjson"), "-q", check=False
    )
    assert orjson.loads(result.stdout) == {
        "statements": 7,
        "dead_letters": 1,
        "topic": pipeline_settings.statements_topic,
    }
    records = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    assert {dict(r.headers)["source"] for r in records} == {b"caliper", b"tutor"}
    dead = read_topic(pipeline_settings, pipeline_settings.dlq_topic)
    assert sorted(orjson.loads(r.value)["reason"].split(":")[0] for r in dead) == [
        "caliper",
        "caliper",
        "tutor event",
    ]
