"""`skillstream dlq list|show|replay` against the real broker: letters read, replayed once."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from skillstream import kafka
from skillstream.ingestion import dlq
from skillstream.ingestion.produce import dead_letter
from skillstream.ingestion.sources import Record
from skillstream.settings import Settings
from tests.conftest import run_cli
from tests.ingestion.test_add_a_source import HEADER, install_the_page, quizzes_of
from tests.ingestion.test_ingest_file import read_topic

VALID = {
    "actor": {"mbox": "mailto:ada@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
    "object": {"id": "https://lms.example/a/1"},
}


def ingest_a_bad_line(settings: Settings, tmp_path: Path) -> Path:
    path = tmp_path / "log.ndjson"
    path.write_bytes(orjson.dumps(VALID) + b"\n{not json\n")
    assert run_cli(settings, "ingest", "file", str(path), "-q", check=False).returncode == 2
    return path


@pytest.mark.integration
def test_list_and_show_say_what_was_refused_where_and_why(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    path = ingest_a_bad_line(pipeline_settings, tmp_path)
    listed = run_cli(pipeline_settings, "dlq", "list", "--json")
    [letter] = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert letter["id"] == "0:0"
    assert (letter["source"], letter["origin"], letter["stage"]) == ("file", f"{path}:2", "ingest")
    assert letter["reason"].startswith("line 2: malformed JSON")
    assert letter["received_at"].endswith("Z") and letter["replayed_at"] is None
    text = run_cli(pipeline_settings, "dlq", "list").stdout
    assert text.startswith(f"0:0  {letter['received_at']}  file  {path}:2: line 2: malformed")
    shown = orjson.loads(run_cli(pipeline_settings, "dlq", "show", "0:0", "--json").stdout)
    assert shown == {**letter, "payload": "{not json"}
    lines = run_cli(pipeline_settings, "dlq", "show", "0").stdout.splitlines()
    assert lines[0] == "id: 0:0" and lines[-1] == "payload: {not json"
    missing = run_cli(pipeline_settings, "dlq", "show", "0:7", check=False)
    assert missing.returncode == 1
    assert f"no dead letter 0:7 on {pipeline_settings.dlq_topic}" in missing.stderr
    assert run_cli(pipeline_settings, "dlq", "list", "--source", "lrs").stdout == ""
    assert run_cli(pipeline_settings, "dlq", "list", "--since", "2999-01-01").stdout == ""
    wrong = run_cli(pipeline_settings, "dlq", "list", "--since", "soon", check=False)
    assert wrong.returncode == 1
    assert "error: --since 'soon': not a date or RFC 3339 time" in wrong.stderr


def put_transform_letters(settings: Settings, *payloads: dict) -> None:
    """Dead letters as the transform writes them for statements the validator refused."""
    producer = kafka.producer(settings)
    for offset, payload in enumerate(payloads):
        reasons = ["$: refused by an older validator"]
        origin = f"{settings.statements_topic}[0]@{offset}"
        value = dead_letter(
            "serve", origin, reasons, orjson.dumps(payload).decode(), stage="transform"
        )
        producer.send(settings.dlq_topic, key=b"k", value=value)
    producer.flush()
    producer.close()


@pytest.mark.integration
def test_replay_produces_what_now_passes_exactly_once(pipeline_settings: Settings) -> None:
    still_invalid = {**VALID, "verb": {"id": "not an IRI"}}
    put_transform_letters(pipeline_settings, VALID, still_invalid)
    first = run_cli(pipeline_settings, "dlq", "replay", check=False)
    assert first.returncode == 2, first.stderr  # one letter still fails
    assert orjson.loads(first.stdout) == {
        "replayed": 1,
        "still_failing": 1,
        "already_replayed": 0,
        "topic": pipeline_settings.statements_topic,
    }
    assert first.stderr.startswith(f"still failing 0:1 {pipeline_settings.statements_topic}[0]@1")
    assert "verb.id: must be an IRI" in first.stderr
    [record] = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    assert orjson.loads(record.value) == VALID
    assert dict(record.headers)["source"] == b"serve"

    second = run_cli(pipeline_settings, "dlq", "replay", check=False)
    assert orjson.loads(second.stdout)["replayed"] == 0
    assert orjson.loads(second.stdout)["already_replayed"] == 1
    assert len(read_topic(pipeline_settings, pipeline_settings.statements_topic)) == 1
    listed = [
        orjson.loads(line)
        for line in run_cli(pipeline_settings, "dlq", "list", "--json").stdout.splitlines()
    ]
    assert [letter["replayed_at"] is not None for letter in listed] == [True, False]


@pytest.mark.integration
def test_after_the_mapping_is_fixed_replay_sends_the_rows_it_refused(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    installed = install_the_page(pipeline_settings, tmp_path)
    results = tmp_path / "results.csv"
    results.write_text(
        HEADER + "ada@example.com,sql-1,90%,2026-03-02T09:00:00Z\n"
        "bo@example.com,sql-2,0.5,2026-03-02T09:05:00Z\n"
    )
    first = installed.skillstream("ingest", "quizcsv", str(results), "-q")
    assert "column 'score': '90%' is not a number" in first.stderr
    assert quizzes_of(pipeline_settings) == ["sql-2"]
    module = installed.site / "skillstream_quizcsv.py"  # the fix: scores may be percentages
    module.write_text(
        module.read_text().replace(
            'row.number("score", 0, 1)',
            'float(row["score"].rstrip("%")) / 100 if "%" in row["score"] else row.number("score")',
        )
    )
    replay = installed.skillstream("dlq", "replay", "--source", "quizcsv")
    assert (replay.returncode, orjson.loads(replay.stdout)["replayed"]) == (0, 1), replay.stderr
    assert quizzes_of(pipeline_settings) == ["sql-1", "sql-2"]
    records = read_topic(pipeline_settings, pipeline_settings.statements_topic)
    assert dict(records[-1].headers)["origin"] == f"{results}:2".encode()
    assert orjson.loads(records[-1].value)["result"]["score"]["scaled"] == 0.9
    again = installed.skillstream("dlq", "replay", "--source", "quizcsv")
    assert orjson.loads(again.stdout)["replayed"] == 0
    assert quizzes_of(pipeline_settings) == ["sql-1", "sql-2"]


def test_letters_group_by_reason_without_their_line() -> None:
    def letter(n: int, reason: str, replayed: str | None = None) -> dlq.DeadLetter:
        return dlq.DeadLetter(
            f"0:{n}",
            "quizcsv",
            f"r.csv:{n}",
            reason,
            f"2026-03-0{n}T00:00:00Z",
            "ingest",
            "{}",
            replayed,
        )

    letters = [
        letter(1, "line 3: column 'score': missing"),
        letter(2, "line 9: column 'score': missing"),
        letter(3, "line 12: column 'email': empty"),
        letter(4, "line 14: column 'email': empty", replayed="2026-03-05T00:00:00Z"),
    ]
    assert dlq.by_reason(iter(letters)) == [
        {
            "source": "quizcsv",
            "reason": "column 'score': missing",
            "letters": 2,
            "latest": "2026-03-02T00:00:00Z",
        },
        {
            "source": "quizcsv",
            "reason": "column 'email': empty",
            "letters": 1,
            "latest": "2026-03-03T00:00:00Z",
        },
    ]


def test_a_replayed_letter_passes_the_mapping_and_then_the_validator() -> None:
    def letter(payload: str) -> dlq.DeadLetter:
        return dlq.DeadLetter("0:5", "quizcsv", "r.csv:7", "", "", "ingest", payload)

    def mapping(row: Record) -> dict:
        return {**VALID, "result": {"score": {"scaled": row.number("score")}}}

    assert dlq.replayed(letter('{"score": "lots"}'), mapping).error == (
        "column 'score': 'lots' is not a number"
    )
    assert dlq.replayed(letter('{"score": "3"}'), mapping).error == (
        "result.score.scaled: must be a number between -1 and 1"
    )
    assert dlq.replayed(letter('["0.5"]'), mapping).error == "the record is not a JSON object"
    passed = dlq.replayed(letter('{"score": "0.5"}'), mapping)
    assert (passed.error, passed.origin) == (None, "r.csv:7")
    assert passed.statement == {**VALID, "result": {"score": {"scaled": 0.5}}}
    assert dlq.replayed(letter("{not json"), None).error.startswith("$: malformed JSON")
