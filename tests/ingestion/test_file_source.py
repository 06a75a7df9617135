import gzip
from pathlib import Path

import orjson
import pytest

from skillstream.ingestion.sources import (
    Checkpoint,
    MappingError,
    Record,
    SourceContext,
)
from skillstream.ingestion.sources.file import read_csv, read_file
from skillstream.settings import Settings
from tests.ingestion.conftest import events_only

STATEMENT = {
    "actor": {"mbox": "mailto:a@b.c"},
    "verb": {"id": "https://v"},
    "object": {"id": "https://o"},
}


def test_ndjson_reports_each_bad_line_with_its_number_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "s.ndjson"
    path.write_bytes(
        orjson.dumps(STATEMENT) + b"\n{not json\n\n" + b"[1, 2]\n" + orjson.dumps(STATEMENT) + b"\n"
    )
    events = list(read_file(path))
    assert [e.origin for e in events] == [f"{path}:1", f"{path}:2", f"{path}:4", f"{path}:5"]
    assert [e.error is None for e in events] == [True, False, False, True]
    assert events[1].error.startswith("line 2: malformed JSON")
    assert events[1].payload == b"{not json"
    assert events[2].error == "line 4: a statement must be a JSON object"
    assert events[0].statement == STATEMENT


def test_gzipped_ndjson(tmp_path: Path) -> None:
    path = tmp_path / "s.ndjson.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"\n".join(orjson.dumps(dict(STATEMENT, n=i)) for i in range(3)))
    assert [e.statement["n"] for e in read_file(path)] == [0, 1, 2]


def test_json_array_and_single_object(tmp_path: Path) -> None:
    array = tmp_path / "a.json"
    array.write_bytes(orjson.dumps([STATEMENT, 7, STATEMENT], option=orjson.OPT_INDENT_2))
    events = list(read_file(array))
    assert [e.origin for e in events] == [f"{array}[0]", f"{array}[1]", f"{array}[2]"]
    assert events[1].error == "[1]: a statement must be a JSON object"
    single = tmp_path / "one.json"
    single.write_bytes(orjson.dumps(STATEMENT, option=orjson.OPT_INDENT_2))
    assert [e.statement for e in read_file(single)] == [STATEMENT]


def test_a_malformed_document_is_one_error_not_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "actor": {"mbox": "mailto:a@b.c"},\n  "verb": \n}\n')
    events = list(read_file(path))
    assert len(events) == 1
    assert events[0].error.startswith("malformed JSON")


def test_ndjson_under_a_json_name(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    path.write_bytes(orjson.dumps(STATEMENT) + b"\n" + orjson.dumps(STATEMENT) + b"\nnope\n")
    events = list(read_file(path))
    assert [e.error is None for e in events] == [True, True, False]


def _title(row: Record) -> dict:
    return {"object": {"id": "https://quiz.example/" + row["quiz"]}, "score": row.number("score")}


def test_csv_rows_carry_the_line_they_start_on_and_reasons_name_the_column(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "quiz.csv"
    path.write_text(
        'quiz,score,note\nq1,0.5,"two\nlines"\n\nq2,lots,\nq3\nq4,1,x,extra\n,0.1,\n',
        encoding="utf-8",
    )
    events = list(events_only(read_csv(SourceContext(settings, {}), path, _title)))
    assert [e.origin for e in events] == [f"{path}:{n}" for n in (2, 5, 6, 7, 8)]
    assert events[0].statement == {"object": {"id": "https://quiz.example/q1"}, "score": 0.5}
    assert [e.error for e in events[1:]] == [
        "line 5: column 'score': 'lots' is not a number",
        "line 6: column 'score': missing",
        "line 7: 4 values, the header names 3 columns",
        "line 8: column 'quiz': empty",
    ]
    assert orjson.loads(events[1].payload) == {"quiz": "q2", "score": "lots", "note": ""}


def test_a_csv_read_again_resumes_unless_its_head_changed(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "quiz.csv"
    path.write_text("quiz,score\nq1,0.5\nq2,0.6\n")

    def run(cursor: dict) -> tuple[list[str], dict]:
        items = list(read_csv(SourceContext(settings, cursor), path, _title))
        state = dict(next(i for i in reversed(items) if isinstance(i, Checkpoint)).state)
        return [e.origin.rsplit(":", 1)[1] for e in events_only(items)], state

    origins, state = run({})
    assert origins == ["2", "3"]
    with path.open("a") as handle:
        handle.write("q3,0.7\n")
    origins, state = run(state)
    assert origins == ["4"]
    path.write_text("quiz,score\nq9,0.9\nq1,0.5\nq2,0.6\nq3,0.7\n")  # exported again
    assert run(state)[0] == ["2", "3", "4", "5"]


def test_record_number_refuses_out_of_range_and_non_finite() -> None:
    row = Record(score="1.5", ratio="nan")
    with pytest.raises(MappingError, match=r"column 'score': '1.5' is not between 0 and 1"):
        row.number("score", 0, 1)
    with pytest.raises(MappingError, match=r"column 'ratio': 'nan' is not a finite number"):
        row.number("ratio")


def test_a_csv_line_that_is_not_utf8_is_dead_lettered_alone(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "\ufeffquiz,score\nq1,0.5\n".encode() + "qu\u00e9,0.6\nq3,1\n".encode("latin-1")
    )
    events = list(events_only(read_csv(SourceContext(settings, {}), path, _title)))
    assert [e.error for e in events] == [
        None,
        "line 3: not UTF-8 text (shown with U+FFFD)",
        None,
    ]
    assert orjson.loads(events[1].payload) == ["qu\ufffd", "0.6"]
    assert events[2].statement == {"object": {"id": "https://quiz.example/q3"}, "score": 1.0}
