"""The compiled normaliser (transforms/native/) against its reference, the Python normaliser.

For every record, the native path must give exactly the Python path's result: the same row
(every column, the landed statement JSON and the content hash byte for byte), or the same
rejection (it declines what it is not sure of, and Python words the reasons). These feed
both the same records: the real corpora, the ADL conformance suite (valid and invalid
statements), simulated organisations, and seeded random mutations of them.
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import random
import struct
from typing import Any

import orjson
import pyarrow as pa
import pytest

from skillstream.ingestion.simulate import simulate
from skillstream.transforms import native_bridge, pools
from skillstream.transforms.normalise import normalise_chunk
from skillstream.transforms.records import statement_table
from skillstream.xapi.identity import pseudonymised_statement
from tests.conftest import CORPUS

native = native_bridge.native_normaliser()
pytestmark = pytest.mark.skipif(
    native is None,
    reason="the compiled normaliser is not built (needs Rust: `make python`) or is turned off "
    "(SKILLSTREAM_NATIVE=0): the differential tests need it",
)

REAL = CORPUS / "real"
ADL = CORPUS / "adl-conformance"
SALT = "a-salt"
Record = tuple[int, bytes | None, str | None, int]


def records_of(values: list[bytes | None], start: int = 0) -> list[Record]:
    return [
        (start + i, value, "file" if i % 3 else None, 1_782_900_000_000 + 7 * i)
        for i, value in enumerate(values)
    ]


def both_ways(records: list[Record]) -> tuple[tuple[pa.Table, list], tuple[pa.Table, list]]:
    rows, rejects = normalise_chunk(records, 5, SALT)
    return (statement_table(rows), rejects), native_bridge.native_chunk_table(records, 5, SALT)


def assert_same(records: list[Record]) -> tuple[int, int]:
    """Native and Python agree on every record; returns (made natively, declined)."""
    (expected, expected_rejects), (table, rejects) = both_ways(records)
    assert rejects == expected_rejects
    if not table.equals(expected):
        for name in expected.column_names:
            for i, (want, got) in enumerate(zip(expected[name], table[name], strict=True)):
                assert got == want, (name, i, records[i][1])
    made, declined, _ = native.normalise_batch([r[1] for r in records], SALT)
    return len(made) // 4, len(declined)


def potsie() -> list[bytes]:
    with gzip.open(REAL / "ralph-potsie-statements.ndjson.gz") as handle:
        return [line.rstrip(b"\n") for line in handle]


def simulated(learners: int = 20, days: int = 60, seed: int = 7) -> list[dict[str, Any]]:
    _, statements = simulate(learners, days, seed)
    return list(statements)


def _negative_zero(value: Any) -> bool:
    if isinstance(value, float):
        return value == 0 and math.copysign(1, value) < 0
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return any(_negative_zero(item) for item in items)


def test_the_real_corpora_come_out_the_same_and_natively() -> None:
    datasim = orjson.loads((REAL / "datasim-tccc-dev.json").read_bytes())
    for values in (potsie(), [orjson.dumps(s) for s in datasim]):
        made, declined = assert_same(records_of(values))
        # Python's way only for a -0.0 (serde_json reads `-0` and `-0.0` alike; orjson not)
        assert declined == sum(_negative_zero(orjson.loads(v)) for v in values)
        assert made == len(values) - declined
    assert 0 < sum(map(_negative_zero, datasim)) < 5


def test_simulated_organisations_come_out_the_same_and_natively() -> None:
    values = [orjson.dumps(s) for s in simulated()]
    made, declined = assert_same(records_of(values))
    assert made == len(values) > 1000 and declined == 0


@pytest.mark.parametrize("cases", ["v2_0_statement_cases.json", "v1_0_3_statement_cases.json"])
def test_every_adl_conformance_case_comes_out_the_same(cases: str) -> None:
    suite = orjson.loads((ADL / cases).read_bytes())
    values = [orjson.dumps(case["statement"]) for case in suite]
    made, declined = assert_same(records_of(values))
    # the suite is mostly invalid statements, all declined; the valid ones of common shape made
    assert made > 50 and declined > 500


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _set(document: Any, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


def _random_float(rng: random.Random) -> float:
    while True:
        value = struct.unpack("<d", rng.randbytes(8))[0]
        if value == value and abs(value) != float("inf"):
            return value


STRINGS = [
    "",
    " ",
    "x",
    "é",
    "line\nbreak\t\x01\x1f\x7f",
    'quote " and \\ backslash',
    "\u2028\u2029 emoji \U0001f600",
    "http://example.com/ok",
    "https://example.com/über",
    "http://exa mple.com",
    "urn:x",
    "mailto:Ada@Example.COM",
    "mailto:a@b,c@d",
    "mailto:ådå@example.com",
    "PT1H30M",
    "PT1.5S",
    "P1.5DT2H",
    "P2W",
    "P1W2D",
    "PT",
    "P1DT",
    "P0D",
    "PT4,25S",
    "P1Y2M3DT4H5M6.789S",
    "2026-07-01T12:00:00Z",
    "2026-07-01T12:00:00.123456789Z",
    "2026-07-01T12:00:00,5+05:30",
    "2026-07-01T12:00+0530",
    "2026-07-01T12:00:00-00:00",
    "2026-07-01T12:00:00+24:00",
    "2026-02-29T12:00:00Z",
    "2028-02-29T23:59:59.999999-23:59",
    "2026-07-01T24:00:00Z",
    "2026-07-01T12:00:60Z",
    "2026-07-01t12:00:00Z",
    "2026-07-01T12:00:00z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "２026-07-01T12:00:00Z",
    "0f4b0a39-6a0b-4a57-a7b8-57a4b3cfe0a1",
    "0F4B0A39-6A0B-4A57-A7B8-57A4B3CFE0A1",
    "0f4b0a39-6a0b-4a57-a7b8-57a4b3cfe0a",
    "en-US",
    "i-klingon",
    "I-KLINGON",
    "x-private",
    "en_US",
    "1.0.3",
    "2.0.0",
    "2.0.٣",
    "3.0",
    "http://adlnet.gov/expapi/verbs/voided",
    "http://adlnet.gov/expapi/activities/course",
    "StatementRef",
    "Group",
    "Agent",
    "Activity",
    "SubStatement",
    "choice",
]


def _mutant(base: dict[str, Any], rng: random.Random) -> bytes:
    document = copy.deepcopy(base)
    path = rng.choice(_paths(document)[1:])
    kind = rng.randrange(9)
    if kind == 0:  # remove a property or an item
        parent = document
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    elif kind == 1:  # another kind of JSON value
        choice = rng.choice([None, True, 0, 1, -3, 1.5, 2**60, 2**64, -(2**63) - 1, [], {}, "s"])
        _set(document, path, choice)
    elif kind == 2:
        _set(document, path, rng.choice(STRINGS))
    elif kind == 3:
        _set(document, path, _random_float(rng))
    elif kind == 4:  # an unknown or a known property where it may not belong
        target = document
        for key in path[:-1]:
            target = target[key]
        if isinstance(target, dict):
            target[rng.choice(["objectType", "id", "unknown", "stored", "version", "member"])] = (
                rng.choice(STRINGS)
            )
    elif kind == 5:  # a score: numbers and their bounds
        result = document.setdefault("result", {})
        if isinstance(result, dict):
            result["score"] = {
                key: rng.choice([-2, -1, 0, 0.5, 1, 3, 100, 2**53 + 1, -0.0, _random_float(rng)])
                for key in rng.sample(["scaled", "raw", "min", "max"], rng.randrange(1, 5))
            }
    elif kind == 6:  # a statement that voids another
        document["verb"] = {"id": "http://adlnet.gov/expapi/verbs/voided"}
        if rng.random() < 0.7:
            document["object"] = {"objectType": "StatementRef", "id": base.get("id", "x")}
    elif kind == 7:  # the actor as another kind of agent
        document["actor"] = rng.choice(
            [
                {"mbox_sha1sum": "a" * 40},
                {"openid": "http://openid.example/ada"},
                {"account": {"homePage": "https://lms.example", "name": "ada"}},
                {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]},
                {"mbox": "mailto:ADA@EXAMPLE.COM", "name": "Ada"},
                {"mbox": "mailto:a@example.com", "openid": "http://x.example/"},
            ]
        )
    try:
        text = orjson.dumps(document)
    except TypeError:  # an integer beyond 64 bits: orjson does not write it, json does
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    if kind == 8:  # the same document written another way
        text = rng.choice(
            [
                orjson.dumps(document, option=orjson.OPT_INDENT_2),
                text.replace(b'":', b'" : ', 1),
                text.replace(b"/", b"\\/"),
                text.replace(b"e", b"\\u0065", 3),
                text.replace(b'{"', b'{"id":"dup","', 1),  # a duplicated key
                text[:-1],  # cut short
                b"\xef\xbb\xbf" + text,  # a byte order mark
                text.replace(b"a", b"\xff", 1),  # not UTF-8
                b"-0" if rng.random() < 0.5 else b"[]",
            ]
        )
    return text


def test_random_mutations_come_out_the_same() -> None:
    rng = random.Random(20261128)
    bases = [orjson.loads(v) for v in rng.sample(potsie(), 200)] + rng.sample(simulated(), 400)
    values: list[bytes | None] = [_mutant(rng.choice(bases), rng) for _ in range(6000)]
    values += [None, b"", b"null", b"{}"]
    made, declined = assert_same(records_of(values))
    # both ways were exercised, many times each
    assert made > 1500 and declined > 1500


def test_rows_keep_the_records_order_when_python_takes_some() -> None:
    """A valid statement the native rules leave to Python (a Group actor) lands between the
    native ones in record order: the landing keeps the first of a repeated id."""
    statements = simulated(learners=2, days=10)[:20]
    group = copy.deepcopy(statements[3])
    group["actor"] = {"objectType": "Group", "mbox": "mailto:team@example.com", "member": []}
    values = [orjson.dumps(s) for s in statements[:3]]
    values += [orjson.dumps(group), orjson.dumps(statements[3])]  # the same id twice
    values += [orjson.dumps(s) for s in statements[4:]]
    made, declined = assert_same(records_of(values))
    assert declined == 1 and made == len(values) - 1
    table, _ = native_bridge.native_chunk_table(records_of(values), 5, SALT)
    assert table["kafka_offset"].to_pylist() == list(range(len(values)))


def test_people_in_every_role_and_ids_in_any_case_come_out_the_same() -> None:
    """Both ways store and hash the statement as pseudonymised: the native rules take an Agent
    actor (its name dropped) and lowercase the statement's own id, also one derived from the
    stored content; people in other roles and a StatementRef in upper case go the Python way."""
    statements = simulated(learners=3, days=10)[:60]
    ada = {"name": "Ada Lovelace", "mbox": "mailto:Ada@Example.com"}
    team = {"objectType": "Group", "name": "Blue", "member": [ada]}
    native_values, python_values = [], []
    for i, statement in enumerate(statements):
        upper = dict(statement, id=statement["id"].upper())
        anonymous = {k: v for k, v in statement.items() if k != "id"}
        stored_before = pseudonymised_statement(statement, SALT)  # e.g. a dead letter replayed
        native_values += [orjson.dumps(upper), orjson.dumps(anonymous), orjson.dumps(stored_before)]
        roles = copy.deepcopy(statement)
        roles["context"][["instructor", "team", "contextAgents", "contextGroups"][i % 4]] = [
            ada,
            team,
            [{"objectType": "contextAgent", "agent": ada}],
            [{"objectType": "contextGroup", "group": team}],
        ][i % 4]
        voiding = {k: v for k, v in upper.items() if k != "context"}  # platform: Activity only
        voiding["verb"] = {"id": "http://adlnet.gov/expapi/verbs/voided"}
        voiding["object"] = {"objectType": "StatementRef", "id": statement["id"].upper()}
        group_actor = dict(statement, actor=team)
        python_values += [orjson.dumps(roles), orjson.dumps(voiding), orjson.dumps(group_actor)]
    values = native_values + python_values
    made, declined = assert_same(records_of(values))
    assert (made, declined) == (len(native_values), len(python_values))
    table, _ = native_bridge.native_chunk_table(records_of(values), 5, SALT)
    landed = "\n".join(table["statement"].to_pylist())
    assert "Ada" not in landed and "Blue" not in landed and "@" not in landed
    learners = table["learner_id"].to_pylist()
    assert learners[2 : len(native_values) : 3] == learners[0 : len(native_values) : 3]
    ids = table["statement_id"].to_pylist() + table["voids_statement_id"].drop_null().to_pylist()
    assert len(ids) == len(values) + len(statements) and ids == [i.lower() for i in ids]


def test_floats_are_written_as_orjson_writes_them() -> None:
    rng = random.Random(5)
    base = simulated(learners=1, days=5)[0]
    values = []
    for _ in range(3000):
        document = copy.deepcopy(base)
        number = rng.choice(
            [
                _random_float(rng),
                rng.uniform(-1e6, 1e6),
                10.0 ** rng.randrange(-30, 30),
                rng.uniform(1, 10) * 10.0 ** rng.randrange(-30, 30),  # both notations, edges
                rng.randrange(1, 2**53) / 2 ** rng.randrange(0, 80),  # exact ties at the last digit
            ]
        )
        document.setdefault("context", {}).setdefault("extensions", {})["https://example.com/x"] = (
            number
        )
        values.append(orjson.dumps(document))
    assert assert_same(records_of(values)) == (len(values), 0)


def test_batches_on_threads_with_their_declined_records_in_processes_come_out_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the transform runs: whole batches side by side on the normaliser threads, and a
    batch's declined records in the worker processes when they are many, else on its thread."""
    rng = random.Random(11)
    bases = [orjson.loads(v) for v in rng.sample(potsie(), 50)] + rng.sample(simulated(), 100)
    mutants: list[bytes | None] = [_mutant(rng.choice(bases), rng) for _ in range(3000)]
    few = [orjson.dumps(s) for s in simulated(learners=5, days=20)] + mutants[:10]
    batches = [records_of(mutants[:1500]), records_of(mutants[1500:], 1500), records_of(few)]
    declined = [len(native.normalise_batch([r[1] for r in b], SALT)[1]) for b in batches]
    assert min(declined[:2]) > native_bridge.DECLINED_ON_THREAD >= declined[2] > 0

    processes = []
    real_pool = native_bridge.worker_pool

    def counted_pool(workers: int) -> Any:
        processes.append(workers)
        return real_pool(workers)

    monkeypatch.setattr(native_bridge, "worker_pool", counted_pool)
    threads = pools.normaliser_threads(2)
    futures = [threads.submit(native_bridge.native_batch_table, b, 5, SALT, 2) for b in batches]
    for records, future in zip(batches, futures, strict=True):
        rows, rejects = normalise_chunk(records, 5, SALT)
        table, got_rejects = future.result()
        assert got_rejects == rejects
        assert table.equals(statement_table(rows))
    # the two batches of many declined records sent them to the processes, in two shares each
    assert processes == [2] * 4
