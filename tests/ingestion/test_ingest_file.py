"""`skillstream ingest file` against the real broker."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from skillstream import kafka
from skillstream.ingestion.produce import ProduceError, StatementProducer
from skillstream.ingestion.sources import RawEvent
from skillstream.settings import Settings
from skillstream.xapi.identity import agent_learner_id, learner_id
from tests.conftest import run_cli

pytestmark = pytest.mark.integration


def read_topic(settings: Settings, topic: str) -> list:
    consumer = kafka.consumer(settings)
    try:
        tps = kafka.partitions(settings, topic, consumer)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        records = []
        while sum(consumer.position(tp) for tp in tps) < sum(end.values()):
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def statement(email: str, n: int) -> dict:
    return {
        "actor": {"mbox": f"mailto:{email}"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": f"https://lms.example/a/{n}"},
    }


def test_a_malformed_line_goes_to_the_dlq_and_the_rest_is_produced(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.ndjson"
    lines = [
        orjson.dumps(statement("ada@example.com", 1)),
        b'{"actor": ',
        orjson.dumps(statement("bo@example.com", 2)),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = run_cli(pipeline_settings, "ingest", "file", str(path), check=False)
    assert result.returncode == 2  # partial: something was dead-lettered
    assert orjson.loads(result.stdout.strip().splitlines()[-1])["statements"] == 2
    assert f"{path}:2" in result.stderr

    produced = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    assert sorted(orjson.loads(r.value)["object"]["id"] for r in produced) == [
        "https://lms.example/a/1",
        "https://lms.example/a/2",
    ]
    keys = {r.key.decode() for r in produced}
    salt = pipeline_settings.learner_salt()
    assert keys == {
        learner_id("mailto:ada@example.com", salt),
        learner_id("mailto:bo@example.com", salt),
    }
    assert all(dict(r.headers)["source"] == b"file" for r in produced)

    (dead,) = read_topic(pipeline_settings, pipeline_settings.dlq_topic)
    letter = orjson.loads(dead.value)
    assert letter["origin"] == f"{path}:2"
    assert letter["reason"].startswith("line 2: malformed JSON")
    assert letter["payload"] == '{"actor":'


def test_an_anonymous_group_is_keyed_by_its_members(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    group = {
        "objectType": "Group",
        "member": [{"mbox": "mailto:ada@example.com"}, {"mbox": "mailto:bo@example.com"}],
    }
    path = tmp_path / "group.ndjson"
    path.write_bytes(orjson.dumps({**statement("x@example.com", 1), "actor": group}) + b"\n")
    run_cli(pipeline_settings, "ingest", "file", str(path))

    (produced,) = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    # the learner the transform names this statement by, so the group's statements stay in order
    assert produced.key.decode() == agent_learner_id(group, pipeline_settings.learner_salt())


def test_a_send_kafka_does_not_acknowledge_is_an_error_naming_its_line(
    pipeline_settings: Settings,
) -> None:
    missing = pipeline_settings.with_overrides(statements_topic="xapi.no-such-topic")
    producer = StatementProducer(missing, "file", **{"message.timeout.ms": 2_000})
    producer.send(RawEvent(b"{}", "export.ndjson:7", statement={}))
    with pytest.raises(ProduceError, match=r"export\.ndjson:7: "):
        producer.close(timeout=30)
