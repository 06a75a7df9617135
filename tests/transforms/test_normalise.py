import subprocess
import sys
import time
from datetime import datetime

import apache_beam as beam
import orjson
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from skillstream.transforms.pipeline import NormaliseBatches
from skillstream.transforms.records import STATEMENT_COLUMNS, KafkaBatch, KafkaRecord
from skillstream.xapi.identity import PSEUDONYM_HOME_PAGE, agent_learner_id, learner_id
from skillstream.xapi.statements import content_hash
from tests.conftest import CORPUS, normalise_one

COURSE = "https://lms.example/courses/c1"
STATEMENT = {
    "id": "0f4b0a39-6a0b-4a57-a7b8-57a4b3cfe0a1",
    "actor": {"name": "Ada", "mbox": "mailto:Ada@Example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
    "object": {
        "id": "https://lms.example/q/1",
        "definition": {
            "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
            "extensions": {"https://w3id.org/skillstream/ext/skill": ["s:a", "s:b"]},
        },
    },
    "result": {
        "score": {"scaled": 0.85, "raw": 17, "min": 0, "max": 20},
        "success": True,
        "duration": "PT1M30S",
    },
    "context": {
        "contextActivities": {
            "parent": {
                "id": COURSE,
                "definition": {"type": "http://adlnet.gov/expapi/activities/course"},
            },
            "grouping": [{"id": "https://lms.example/paths/p"}],
        },
        "extensions": {
            "https://w3id.org/skillstream/ext/skill": "s:a",
            "https://w3id.org/skillstream/ext/cohort": "pilot",
            "https://w3id.org/skillstream/ext/team": "t1",
        },
    },
    "timestamp": "2026-07-01T12:00:00+02:00",
}


def record(value: bytes, offset: int = 0) -> KafkaRecord:
    return KafkaRecord(offset=offset, value=value, source="file", timestamp_ms=1_782_900_000_000)


def test_a_statement_becomes_a_row_with_every_normalised_field() -> None:
    row, reject = normalise_one(record(orjson.dumps(STATEMENT), 42), partition=3, salt="s")
    assert reject is None
    fields = dict(zip(STATEMENT_COLUMNS, row, strict=True))
    assert fields["learner_id"] == learner_id("mailto:ada@example.com", "s")
    assert fields["declared_course_ids"] == [COURSE]
    assert fields["parent_ids"] == [COURSE]
    assert fields["grouping_ids"] == ["https://lms.example/paths/p"]
    assert fields["skill_ids"] == ["s:a", "s:b"]
    assert (fields["cohort"], fields["team"], fields["org"]) == ("pilot", "t1", None)
    assert (fields["score_scaled"], fields["score_raw"], fields["score_max"]) == (0.85, 17.0, 20.0)
    assert fields["success"] is True and fields["completion"] is None
    assert fields["duration_seconds"] == 90.0
    assert fields["occurred_at"] == datetime(2026, 7, 1, 10, 0)  # UTC
    assert (fields["kafka_partition"], fields["kafka_offset"], fields["source"]) == (3, 42, "file")


def test_no_name_or_email_is_landed() -> None:
    row, _ = normalise_one(record(orjson.dumps(STATEMENT)), partition=0, salt="s")
    landed = row[STATEMENT_COLUMNS.index("statement")]
    assert "Ada" not in landed and "example.com" not in landed.lower()


def landed_fields(statement: dict, salt: str = "s") -> dict:
    row, reject = normalise_one(record(orjson.dumps(statement)), partition=0, salt=salt)
    assert reject is None, reject
    return dict(zip(STATEMENT_COLUMNS, row, strict=True))


def test_no_one_in_any_role_is_landed_by_name_or_email() -> None:
    bob = {"name": "Bob Stone", "mbox": "mailto:bob@example.org"}
    team = {"objectType": "Group", "name": "Team Blue", "member": [bob]}
    every_role = dict(
        STATEMENT,
        context={
            **STATEMENT["context"],
            "instructor": bob,
            "team": team,
            "contextAgents": [{"objectType": "contextAgent", "agent": bob}],
        },
        authority={"name": "Bob Stone", "mbox": "mailto:bob@example.org"},
    )
    landed = landed_fields(every_role)["statement"]
    assert not [text for text in ("Ada", "Bob", "Blue", "@example") if text in landed]
    bob_id = learner_id("mailto:bob@example.org", "s")
    assert orjson.loads(landed)["context"]["team"]["member"][0]["account"]["name"] == bob_id


def test_what_a_statement_says_is_hashed_as_stored() -> None:
    """The content hash is of the pseudonymised statement: a display name or an email's case
    changes nothing; another person or salt does; the hash confirms no guessed email."""
    fields = landed_fields(STATEMENT)
    stored = orjson.loads(fields["statement"])
    assert fields["content_hash"] == content_hash(stored)
    renamed = dict(STATEMENT, actor={"name": "A. L.", "mbox": "mailto:ADA@example.com"})
    assert landed_fields(renamed)["content_hash"] == fields["content_hash"]
    other = dict(STATEMENT, actor={"mbox": "mailto:eve@example.com"})
    assert landed_fields(other)["content_hash"] != fields["content_hash"]
    assert landed_fields(STATEMENT, salt="t")["content_hash"] != fields["content_hash"]
    assert fields["content_hash"] != content_hash(STATEMENT)


def _people(value: object, found: set[str]) -> set[str]:
    """The names and identifiers (as text) of every Agent and Group in a statement."""
    if isinstance(value, dict):
        if value.get("objectType") in ("Agent", "Group") or any(k in value for k in IFIS):
            found |= {v for k in ("name", *IFIS) if isinstance(v := value.get(k), str)}
        for item in value.values():
            _people(item, found)
    elif isinstance(value, list):
        for item in value:
            _people(item, found)
    return found


IFIS = ("mbox", "mbox_sha1sum", "openid")


@pytest.mark.parametrize("cases", ["v2_0_statement_cases.json", "v1_0_3_statement_cases.json"])
def test_no_person_of_the_adl_conformance_statements_is_landed(cases: str) -> None:
    suite = orjson.loads((CORPUS / "adl-conformance" / cases).read_bytes())
    landed = 0
    for case in suite:
        row, _ = normalise_one(record(orjson.dumps(case["statement"])), 0, "s")
        if row is not None:
            stored = row[STATEMENT_COLUMNS.index("statement")]
            assert not [p for p in _people(case["statement"], set()) if p in stored], stored
            landed += 1
    assert landed > 300  # the valid ones, with people in every role


def test_an_anonymous_group_actor_lands_as_one_unit() -> None:
    members = [{"mbox": "mailto:ada@example.com"}, {"mbox": "mailto:bob@example.org"}]
    group = dict(STATEMENT, actor={"objectType": "Group", "name": "Pair", "member": members})
    fields = landed_fields(group)
    assert fields["learner_id"] == agent_learner_id(group["actor"], "s")
    assert fields["learner_id"] not in {learner_id(m["mbox"], "s") for m in members}
    assert orjson.loads(fields["statement"])["actor"] == {
        "objectType": "Group",
        "member": [
            {"objectType": "Agent", "account": {"homePage": PSEUDONYM_HOME_PAGE, "name": i}}
            for i in (learner_id(m["mbox"], "s") for m in members)
        ],
    }


def test_statement_ids_are_landed_lowercase() -> None:
    upper = STATEMENT["id"].upper()
    fields = landed_fields(dict(STATEMENT, id=upper))
    assert fields["statement_id"] == orjson.loads(fields["statement"])["id"] == STATEMENT["id"]
    voiding = dict(
        STATEMENT,
        id="9a3c4ba4-6e54-4c4b-8e8e-2d7a3e3c1b10",
        verb={"id": "http://adlnet.gov/expapi/verbs/voided"},
        object={"objectType": "StatementRef", "id": upper},
    )
    fields = landed_fields(voiding)
    assert fields["voids_statement_id"] == fields["object_id"] == STATEMENT["id"]


def test_a_rejected_statement_keeps_no_name_or_email() -> None:
    invalid = dict(STATEMENT, id=STATEMENT["id"].upper(), verb={})
    invalid["actor"] = {"name": "Ada", "mbox": "Ada@Example.com"}  # no mailto: either
    _, reject = normalise_one(record(orjson.dumps(invalid)), 0, "s")
    assert reject[2] == STATEMENT["id"]
    assert "Ada" not in reject[5] and "example.com" not in reject[5].lower()
    assert learner_id("mailto:ada@example.com", "s") in reject[5]
    assert "verb.id: is required and must be an IRI string" in reject[4]


def test_a_statement_without_id_gets_the_same_id_every_time() -> None:
    without_id = {k: v for k, v in STATEMENT.items() if k != "id"}
    first, _ = normalise_one(record(orjson.dumps(without_id)), 0, "s")
    again, _ = normalise_one(record(orjson.dumps(without_id), 9), 1, "s")
    assert first[0] == again[0]


def test_bad_input_is_rejected_whole_with_reasons() -> None:
    row, reject = normalise_one(record(b"{oops", 5), partition=1, salt="s")
    assert row is None
    partition, offset, statement_id, source, reasons, payload = reject
    assert (partition, offset, statement_id, source, payload) == (1, 5, None, "file", "{oops")
    assert reasons[0].startswith("$: malformed JSON")
    _, reject = normalise_one(record(orjson.dumps(dict(STATEMENT, verb={}))), 1, "s")
    assert reject[2] == STATEMENT["id"]
    assert reject[4] == ["verb.id: is required and must be an IRI string"]


def test_a_valid_time_beyond_what_utc_can_hold_is_rejected_not_raised() -> None:
    """Year 1 at +01:00 is a valid xAPI timestamp, but its UTC instant falls before year 1:
    a reason in quarantine, not an OverflowError that ends the worker (found by fuzzing)."""
    early = dict(STATEMENT, timestamp="0001-01-01T00:00:00+01:00")
    row, reject = normalise_one(record(orjson.dumps(early)), 0, "s")
    assert row is None
    assert reject[4] == ["$: cannot be normalised: OverflowError('date value out of range')"]


def test_normalise_batches_splits_valid_from_invalid() -> None:
    batch = KafkaBatch(
        "t", 0, 10, 13, [record(orjson.dumps(STATEMENT), 10), record(b"[]", 11), record(b"", 12)]
    )
    with TestPipeline(runner="FnApiRunner") as pipeline:
        counts = (
            pipeline
            | beam.Create([batch])
            | beam.ParDo(NormaliseBatches("s"))
            | beam.Map(
                lambda b: (
                    b.start,
                    b.end,
                    b.rows.column("statement_id").to_pylist(),
                    [r[1] for r in b.rejects],
                )
            )
        )
        assert_that(counts, equal_to([(10, 13, [STATEMENT["id"]], [11, 12])]))


def test_duplicate_keys_are_refused_as_at_ingestion() -> None:
    payload = b'{"id": "a", "id": "b"}'
    row, reject = normalise_one(record(payload, 7), partition=0, salt="s")
    assert row is None
    assert reject[4] == ["$: duplicate key 'id' in one object (RFC 8259 names must be unique)"]


def test_the_kafka_timestamp_is_kept_for_freshness() -> None:
    row, _ = normalise_one(record(orjson.dumps(STATEMENT)), partition=0, salt="s")
    fields = dict(zip(STATEMENT_COLUMNS, row, strict=True))
    assert fields["kafka_timestamp"] == datetime(2026, 7, 1, 10, 0)


@pytest.mark.parametrize("ahead", [1, 2, 5])
def test_batches_split_over_worker_processes_come_out_whole_and_in_order(ahead: int) -> None:
    batches = [
        KafkaBatch(
            "t",
            0,
            start,
            start + 3,
            [
                record(
                    orjson.dumps(
                        dict(STATEMENT, id=f"0f4b0a39-6a0b-4a57-a7b8-57a4b3cfe0{start:02d}")
                    ),
                    start,
                ),
                record(b"{oops", start + 1),
                record(
                    orjson.dumps(
                        dict(STATEMENT, id=f"0f4b0a39-6a0b-4a57-a7b8-57a4b3cfe1{start:02d}")
                    ),
                    start + 2,
                ),
            ],
        )
        for start in (0, 3, 6)
    ]
    with TestPipeline(runner="FnApiRunner") as pipeline:
        out = (
            pipeline
            | beam.Create([batches])
            | beam.FlatMap(lambda bs: bs)
            | beam.ParDo(NormaliseBatches("s", workers=2, ahead=ahead))
            | beam.Map(
                lambda b: (
                    b.start,
                    sorted(b.rows.column("kafka_offset").to_pylist()),
                    [r[1] for r in b.rejects],
                )
            )
        )
        assert_that(
            out,
            equal_to([(s, [s, s + 2], [s + 1]) for s in (0, 3, 6)]),
        )


POOL_SCRIPT = """
import time
from skillstream.transforms.normalise import normalise_chunk
from skillstream.transforms.pools import worker_pool
if __name__ == "__main__":
    pool = worker_pool(2)
    list(pool.map(normalise_chunk, [[], []], [0, 0], ["s", "s"]))
    print(*pool._processes, flush=True)
    time.sleep(600)
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


def test_worker_processes_end_when_their_parent_is_sigkilled(tmp_path) -> None:
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert workers and all(_running(pid) for pid in workers)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in workers if _running(pid)], "workers outlived a SIGKILLed parent"
