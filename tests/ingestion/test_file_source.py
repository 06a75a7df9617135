import gzip
from pathlib import Path

import orjson

from skillstream.ingestion.sources.file import read_file

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
