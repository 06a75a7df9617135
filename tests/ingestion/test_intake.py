"""`skillstream ingest file`'s fast path (ingestion/intake.py, the compiled `scan_ndjson`)
held to the file source's Python reader: the same events, line for line, on the corpora and
on every way a line can be refused; and the same records in Kafka."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest

from skillstream import native
from skillstream.ingestion import intake
from skillstream.ingestion.produce import ProduceError, StatementProducer, partition_key
from skillstream.ingestion.sources import RawEvent, SourceContext
from skillstream.ingestion.sources import file as file_source
from skillstream.settings import Settings
from tests.conftest import run_cli
from tests.ingestion.test_ingest_file import read_topic

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
PSEUDONYM = "urn:skillstream:learner"

scan = getattr(native.compiled(), "scan_ndjson", None)
needs_scan = pytest.mark.skipif(scan is None, reason="the compiled module is not built")


def statement(actor: Any, **more: Any) -> bytes:
    document = {"actor": actor, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}}
    return orjson.dumps({**document, "object": {"id": "https://lms.example/a/1"}, **more})


# Every way a line can be refused, and every actor the key is computed for or not.
ODD_LINES = [
    b"",
    b"   ",
    b'{"actor": ',
    b"not json at all",
    b'{"a": 1, "a": 2}',
    b'{"actor": {"mbox": "mailto:a@example.com", "mbox": "mailto:b@example.com"}}',
    b'{"context": {"extensions": {"x": 1, "\\u0078": 2}}}',
    b'{"result": {"score": {"raw": NaN}}}',
    b'{"result": {"score": {"raw": -Infinity}}}',
    b'{"result": {"score": {"raw": 1e400}}}',
    b'{"result": {"score": {"raw": 18446744073709551616}}}',
    b'{"result": {"score": {"raw": -0}}}',
    b'{"actor": {"mbox": "mailto:caf\xe9@example.com"}}',
    b'{"actor": {"name": "\\ud800"}}',
    b"[" * 1100 + b"]" * 1100,
    b"{" + b'"a":{' * 200 + b"}" * 201,
    b"[1, 2]",
    b'"a string"',
    b"42",
    b"null",
    b'{"actor": {"mbox": "mailto:a@example.com"}} trailing',
    b'\t {"actor": {"mbox": "mailto:Padded@Example.com"}} \r',
    b"\x0c" + statement({"mbox": "mailto:form-feed@example.com"}) + b"\x0b",
    b"\xef\xbb\xbf" + statement({"mbox": "mailto:bom@example.com"}),
    statement({"mbox": "mailto:Ada@Example.COM"}),
    statement({"mbox": "mailto:\u00c9lise@example.com"}),
    statement({"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}),
    statement({"openid": "https://openid.example/ada"}),
    statement({"account": {"homePage": "https://lms.example", "name": "ada"}}),
    statement({"account": {"homePage": PSEUDONYM, "name": "a" * 64}}),
    statement({"account": {"homePage": PSEUDONYM, "name": "A" * 64}}),
    statement({"account": {"homePage": PSEUDONYM, "name": "a" * 64}, "mbox": "mailto:x@y.z"}),
    statement({"account": {"homePage": "https://lms.example"}}),
    statement({"account": "ada"}),
    statement({"mbox": 7}),
    statement({"mbox": "mailto:a@example.com", "openid": "https://openid.example/a"}),
    statement({"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}),
    statement({"objectType": "Group", "member": []}),
    statement({"objectType": "Group", "mbox": "mailto:team@example.com"}),
    statement("not an agent"),
    statement(None),
    orjson.dumps({"verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"}}),
    statement({"mbox": "mailto:a@example.com"}, context={str(n): n for n in range(70)}),
    statement({"mbox": "mailto:escaped\\u0040example.com"}).replace(b"\\\\u", b"\\u"),
    statement({"mbox": "mailto:a@example.com"}).replace(b'"verb"', b'"v\\u0065rb"'),
    b'{"actor": {"mbox": "mailto:a@example.com"}, "object": {"definition": '
    b'{"name": {"en": "tab\\tquote\\" \\u00e9 \\ud83d\\ude00"}}}}',
    b'{"actor": {"mbox": "mailto:a@example.com"}}',  # the last line, with no newline after it
]


def corpus_lines() -> dict[str, list[bytes]]:
    with gzip.open(CORPUS / "real" / "ralph-potsie-statements.ndjson.gz") as handle:
        potsie = handle.read().splitlines()
    datasim = orjson.loads((CORPUS / "real" / "datasim-tccc-dev.json").read_bytes())
    cmi5 = sorted((CORPUS / "real" / "cmi5-scenarios").rglob("*statement*.json"))
    adl = [
        orjson.dumps(case["statement"])
        for name in ("v1_0_3", "v2_0")
        for case in orjson.loads(
            (CORPUS / "adl-conformance" / f"{name}_statement_cases.json").read_bytes()
        )
    ]
    return {
        "ralph_potsie": potsie,
        "datasim": [orjson.dumps(item) for item in datasim],
        "cmi5": [path.read_bytes().replace(b"\n", b" ") for path in cmi5],  # some not JSON
        "adl_conformance": adl,
        "odd": ODD_LINES,
    }


Seen = tuple[str, bytes, str | None, bytes | None]


def python_reader(settings: Settings, path: Path, start: int = 0) -> list[Seen]:
    events = file_source.read_file(path, start)
    salt = settings.learner_salt()
    return [(e.origin, e.payload, e.error, partition_key(e.statement, salt)) for e in events]


def fast_reader(settings: Settings, path: Path, cursor: Any = None) -> tuple[list[Seen], int]:
    """The events the fast path makes, and how many lines it keyed itself."""
    context = SourceContext(settings=settings, cursor=cursor or {})
    salt, seen, keyed = settings.learner_salt(), [], 0
    for item in intake._items(context, (path,), scan):
        if isinstance(item, intake.KeyedLines):
            seen.extend((f"{item.name}:{i + 1}", text, None, key) for i, text, key in item.rows)
            keyed += len(item.rows)
        elif isinstance(item, RawEvent):
            seen.append(
                (item.origin, item.payload, item.error, partition_key(item.statement, salt))
            )
    return seen, keyed


@needs_scan
@pytest.mark.parametrize("corpus", ["ralph_potsie", "datasim", "cmi5", "adl_conformance", "odd"])
@pytest.mark.parametrize("chunk_bytes", [intake.CHUNK_BYTES, 97])
def test_the_fast_path_reads_every_line_as_the_file_source_does(
    settings: Settings, tmp_path: Path, corpus: str, chunk_bytes: int, monkeypatch: Any
) -> None:
    monkeypatch.setattr(intake, "CHUNK_BYTES", chunk_bytes)  # lines split across pieces
    lines = corpus_lines()[corpus]
    path = tmp_path / f"{corpus}.ndjson"
    path.write_bytes(b"\n".join(lines))
    expected = python_reader(settings, path)
    seen, keyed = fast_reader(settings, path)
    assert seen == expected
    valid = sum(error is None and key is not None for _, _, error, key in expected)
    # the fast path keys the common shapes itself; the rest is the Python reader's anyway
    assert keyed >= (0.9 * valid if corpus != "odd" else 10)


@needs_scan
def test_a_resumed_or_gzipped_file_reads_the_same(settings: Settings, tmp_path: Path) -> None:
    lines = corpus_lines()["odd"] * 3
    path = tmp_path / "odd.ndjson.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    digest, head = file_source.fingerprint(path)
    done = {"fingerprint": digest, "head": head, "next": 70}
    cursor = {"files": {str(path.resolve()): done}}
    assert fast_reader(settings, path, cursor)[0] == python_reader(settings, path, start=70)


Sent = dict[Any, list[tuple[Any, ...]]]


def sent(settings: Settings, skip: dict[Any, int]) -> Sent:
    """Records of both topics by partition in offset order, past the first `skip[topic, partition]`
    (counted into `skip`): what one run sent. Dead letters without the time they were
    written; records without a key, which go to any partition (murmur2_random), as one set."""
    found: Sent = {}
    for topic in (settings.statements_topic, settings.dlq_topic):
        records = read_topic(settings, topic)
        for partition in {r.partition for r in records}:
            done = skip.get((topic, partition), 0)
            mine = [r for r in records if r.partition == partition][done:]
            skip[(topic, partition)] = done + len(mine)
            for r in mine:
                value = r.value
                if topic == settings.dlq_topic:
                    value = orjson.dumps({**orjson.loads(value), "received_at": None})
                where = (topic, partition) if r.key is not None else "keyless"
                found.setdefault(where, []).append((r.key, value, r.headers))
    found["keyless"] = sorted(found.get("keyless", []), key=repr)
    return found


@needs_scan
@pytest.mark.integration
def test_ingest_file_sends_what_the_python_path_sends(
    pipeline_settings: Settings, tmp_path: Path, monkeypatch: Any
) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(b"\n".join(corpus_lines()["odd"] + corpus_lines()["datasim"][:300]))

    fast = run_cli(pipeline_settings, "ingest", "file", "-q", str(path), check=False)
    offsets: dict[Any, int] = {}
    by_fast = sent(pipeline_settings, offsets)
    monkeypatch.setenv("SKILLSTREAM_NATIVE", "0")
    slow = run_cli(pipeline_settings, "ingest", "file", "-q", "--restart", str(path), check=False)
    by_slow = sent(pipeline_settings, offsets)

    assert fast.returncode == slow.returncode == 2  # some lines were dead-lettered
    assert (fast.stdout, fast.stderr) == (slow.stdout, slow.stderr)
    assert orjson.loads(fast.stdout)["statements"] > 300
    assert by_fast == by_slow  # per partition, the same records in the same order


@pytest.mark.integration
def test_a_keyed_send_kafka_does_not_acknowledge_is_an_error_naming_its_line(
    pipeline_settings: Settings,
) -> None:
    missing = pipeline_settings.with_overrides(statements_topic="xapi.no-such-topic")
    producer = StatementProducer(missing, "file", **{"message.timeout.ms": 2_000})
    rows = [(6, b'{"n": 7}', b"ada"), (7, b'{"n": 8}', b"bo"), (8, b'{"n": 7}', b"ada")]
    producer.send_keyed("export.ndjson", rows)
    with pytest.raises(ProduceError) as refused:
        producer.close(timeout=30)
    lines = sorted(str(refused.value).splitlines()[1:])
    # a statement sent twice is named by its first line
    assert [line.split(": ")[0] for line in lines] == ["export.ndjson:7"] * 2 + ["export.ndjson:8"]
