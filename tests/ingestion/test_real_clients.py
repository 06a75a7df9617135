"""Real xAPI clients send to `skillstream serve`, and the statements arrive in Kafka.

TinCanPython (ADL's client, PyPI `tincan`) and Ralph's CLI (`ralph write -b lrs`) run
from their own venv (.venv-tools/) as external programs, exactly as a data engineer would
point them at an LRS.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import orjson
import pytest

from skillstream.settings import Settings
from tests.ingestion.conftest import Server
from tests.ingestion.test_ingest_file import read_topic

pytestmark = pytest.mark.integration

TINCAN_SCRIPT = """
import json, sys, uuid
from tincan import Activity, Agent, RemoteLRS, Result, Score, Statement, Verb, LanguageMap

endpoint, known_id = sys.argv[1], sys.argv[2]
lrs = RemoteLRS(endpoint=endpoint, version="1.0.3", username="lms-key", password="s3cret")
about = lrs.about()
assert about.success, about.response.status
def statement(n, **kw):
    return Statement(
        actor=Agent(name="Ada", mbox="mailto:ada@example.com"),
        verb=Verb(
            id="http://adlnet.gov/expapi/verbs/answered",
            display=LanguageMap({"en-US": "answered"}),
        ),
        object=Activity(id="https://lms.example/quiz/q%d" % n),
        result=Result(score=Score(scaled=0.5 + n / 10), success=True, duration="PT%dS" % (n + 1)),
        **kw
    )
one = lrs.save_statement(statement(1, id=known_id))   # has an id: TinCanPython PUTs it
many = lrs.save_statements([statement(2), statement(3)])   # POST of an array
bad = lrs.save_statement(Statement(
    actor=Agent(mbox="mailto:x@example.com"),
    verb=Verb(id="not an iri"),
    object=Activity(id="https://lms.example/q"),
))
print(json.dumps({
    "versions": about.content.version,
    "one": [one.success, one.response.status],
    "many": [many.success, many.response.status, [str(s.id) for s in many.content]],
    "bad": [bad.success, bad.response.status, bad.data],
}))
"""


def test_tincan_python(lrs_server: Server, pipeline_settings: Settings, tools_bin: Path) -> None:
    known_id = str(uuid.uuid4())
    done = subprocess.run(
        [str(tools_bin / "python"), "-c", TINCAN_SCRIPT, lrs_server.url, known_id],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout.strip().splitlines()[-1])
    assert report["versions"] == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
    assert report["one"] == [True, 204]
    assert report["many"][:2] == [True, 200]
    assert report["bad"][:2] == [False, 400]
    assert "verb.id: must be an IRI" in report["bad"][2]
    records = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    produced = {orjson.loads(r.value)["id"]: orjson.loads(r.value) for r in records}
    assert set(produced) == {known_id, *report["many"][2]}
    assert produced[known_id]["result"]["score"]["scaled"] == 0.6
    assert all(dict(r.headers)["source"] == b"moodle" for r in records)


def test_ralph_cli_writes_to_skillstream(
    lrs_server: Server, pipeline_settings: Settings, tools_bin: Path
) -> None:
    statements = [
        {
            "id": str(uuid.uuid4()),
            "actor": {"account": {"homePage": "https://fun-mooc.fr", "name": f"learner-{n}"}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": f"https://lms.example/course/{n}", "objectType": "Activity"},
            "timestamp": "2026-07-01T10:00:00+00:00",
        }
        for n in range(25)
    ]
    base = lrs_server.url.removesuffix("xapi/")
    done = subprocess.run(
        [
            str(tools_bin / "ralph"),
            "write",
            "-b",
            "lrs",
            "--lrs-base-url",
            base,
            "--lrs-statements-endpoint",
            "/xapi/statements",
            "--lrs-username",
            "bot-key",
            "--lrs-password",
            "t0ken",
            "--lrs-headers",
            "X-Experience-API-Version=1.0.3,Content-Type=application/json",
            "--chunk-size",
            "10",
        ],
        input=b"\n".join(orjson.dumps(s) for s in statements) + b"\n",
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    records = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    assert sorted(orjson.loads(r.value)["id"] for r in records) == sorted(
        s["id"] for s in statements
    )
    assert {dict(r.headers)["source"] for r in records} == {b"tutor"}
