"""`skillstream forget` without a broker: parsing the learner, and the erase transaction on a
real DuckDB warehouse."""

from __future__ import annotations

import hashlib

import orjson
import pytest

from skillstream import forget, warehouse
from skillstream.settings import Settings
from skillstream.transforms.land import land_batch
from skillstream.transforms.normalise import normalise_chunk
from skillstream.transforms.records import (
    STATEMENT_COLUMNS,
    KafkaRecord,
    NormalisedBatch,
    statement_table,
)
from skillstream.xapi.identity import learner_id
from tests.conftest import normalise_one, run_cli

SALT = "test-salt"
SHA1 = hashlib.sha1(b"mailto:bob@example.com").hexdigest()


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Bob@Example.com", "mailto:bob@example.com"),
        (" MAILTO:bob@example.com ", "mailto:bob@example.com"),
        ("https://lms.example|Bob-7", "https://lms.example|Bob-7"),
        (f"mbox_sha1sum:{SHA1}", SHA1),
        ("openid:https://id.example/Bob", "https://id.example/Bob"),
    ],
)
def test_learner_is_canonicalised_like_the_roster(given: str, canonical: str) -> None:
    assert forget.parse_learner(given) == canonical


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "learner: is empty"),
        ("bob", "'bob' is neither an email nor homePage|name"),
        ("|bob", "must be homePage|name"),
        ("mbox_sha1sum:abc", "mbox_sha1sum must be 40 hex digits"),
        ("openid:bob", "openid must be an absolute URI"),
    ],
)
def test_a_learner_that_names_no_one_gets_a_clear_error(given: str, message: str) -> None:
    with pytest.raises(forget.ForgetError) as error:
        forget.parse_learner(given)
    assert message in str(error.value)
    assert str(error.value).startswith(f"--learner {given!r}")


def test_learner_id_must_be_a_sha256() -> None:
    assert forget.parse_learner_id("AB" * 32) == "ab" * 32
    with pytest.raises(forget.ForgetError, match="64 hex digits"):
        forget.parse_learner_id("bob@example.com")


def statement(actor: dict, n: int = 1) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "actor": actor,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://lms.example/a"},
        "timestamp": "2026-07-01T09:00:00Z",
    }


@pytest.mark.parametrize(
    ("given", "actor"),
    [
        ("BOB@example.com", {"mbox": "mailto:Bob@Example.com"}),
        (
            "https://lms.example|bob",
            {"account": {"homePage": "https://lms.example", "name": "bob"}},
        ),
        (f"mbox_sha1sum:{SHA1}", {"mbox_sha1sum": SHA1}),
        ("openid:https://id.example/bob", {"openid": "https://id.example/bob"}),
    ],
)
def test_the_learner_id_is_the_one_the_transform_lands(given: str, actor: dict) -> None:
    record = KafkaRecord(0, orjson.dumps(statement(actor)), "test", 0)
    row, reject = normalise_one(record, 0, SALT)
    assert reject is None and row is not None
    landed = row[STATEMENT_COLUMNS.index("learner_id")]
    assert learner_id(forget.parse_learner(given), SALT) == landed


def test_cli_refuses_a_bad_learner_before_touching_the_warehouse(settings: Settings) -> None:
    bad = run_cli(settings, "forget", "--learner", "bob", check=False)
    assert bad.returncode == 1
    assert "'bob' is neither an email nor homePage|name" in bad.stderr
    both = run_cli(settings, "forget", "--learner", "a@b.c", "--learner-id", "a" * 64, check=False)
    assert both.returncode == 1 and "exactly one of --learner" in both.stderr
    assert not settings.warehouse.exists()


BOB = learner_id("mailto:bob@example.com", SALT)
ADA = learner_id("mailto:ada@example.com", SALT)


def test_erase_removes_the_learner_from_every_raw_table_in_one_go(settings: Settings) -> None:
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    for who, n in ((BOB, 1), (BOB, 2), (ADA, 3)):
        con.execute(
            "INSERT INTO raw.statements (statement_id, learner_id, verb_id, object_type, "
            "declared_course_ids, parent_ids, grouping_ids, skill_ids, occurred_at, stored_at, "
            "kafka_partition, kafka_offset, content_hash, statement, landed_at) VALUES "
            "(?, ?, 'v', 'Activity', [], [], [], [], now(), now(), 0, ?, 'h', '{}', now())",
            [f"s{n}", who, n],
        )
        con.execute(
            "INSERT INTO raw.kpi_observations VALUES (?, NULL, 'k', ?, 1, now())",
            [who, f"2026-07-0{n}"],
        )
    con.execute("INSERT INTO raw.kpi_observations VALUES (NULL, 't1', 'k', '2026-07-01', 1, now())")
    con.execute(
        "INSERT INTO raw.roster (learner_id, imported_at) VALUES (?, now()), (?, now())", [BOB, ADA]
    )
    pseudonymised = statement({"account": {"homePage": forget.PSEUDONYM_HOME_PAGE, "name": BOB}})
    ada_mentions_bob = statement({"mbox": "mailto:ada@example.com"}) | {
        "result": {"response": "ask bob@example.com"}
    }
    quarantine = [
        orjson.dumps(pseudonymised).decode(),  # a conflict, landed pseudonymised
        orjson.dumps(statement({"mbox": "mailto:BOB@example.com"})).decode(),
        '{"actor": {"mbox": "mailto:bob@example.com", "mbox_sha1sum": "x"}}',  # actor invalid
        "not json, from Bob@Example.com",  # unparseable: matched by the email's text
        orjson.dumps(ada_mentions_bob).decode(),  # ada's: kept
        "not json at all",  # no one's: kept
    ]
    for offset, payload in enumerate(quarantine):
        con.execute(
            "INSERT INTO raw.quarantine VALUES ('t', 0, ?, NULL, NULL, ['r'], ?, now())",
            [offset, payload],
        )

    summary = forget.erase(con, BOB, "mailto:bob@example.com", SALT)

    assert summary["learner_id"] == BOB
    assert summary["erased"] == {
        "raw.statements": 2,
        "raw.roster": 1,
        "raw.kpi_observations": 2,
        "raw.quarantine": 4,
    }
    assert forget.remaining(con, BOB) == {}
    assert forget.remaining(con, ADA) == {
        "raw.kpi_observations": 1,
        "raw.roster": 1,
        "raw.statements": 1,
    }
    kept = [
        r[0] for r in con.execute("SELECT kafka_offset FROM raw.quarantine ORDER BY 1").fetchall()
    ]
    assert kept == [4, 5]
    tombstones = con.execute("SELECT * FROM raw.forgotten_learners").fetchall()
    assert [t[0] for t in tombstones] == [BOB]
    # Forgetting again is harmless and keeps the first tombstone.
    again = forget.erase(con, BOB, None, SALT)
    assert set(again["erased"].values()) == {0}
    assert con.execute("SELECT * FROM raw.forgotten_learners").fetchall() == tombstones
    con.close()


def test_without_the_ifi_a_learner_id_still_finds_pseudonymised_events(
    settings: Settings,
) -> None:
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    pseudonymised = statement({"account": {"homePage": forget.PSEUDONYM_HOME_PAGE, "name": BOB}})
    for offset, payload in enumerate([orjson.dumps(pseudonymised).decode(), f"garbage {BOB}"]):
        con.execute(
            "INSERT INTO raw.quarantine VALUES ('t', 0, ?, NULL, NULL, ['r'], ?, now())",
            [offset, payload],
        )
    assert forget.erase(con, BOB, None, SALT)["erased"]["raw.quarantine"] == 2
    con.close()


def test_only_builds_older_than_the_new_build_are_deleted_with_the_tables_only_they_read(
    tmp_path,
) -> None:
    (tmp_path / "tables").mkdir()
    for table in ("a-1", "a-2", "b-1", "b-2"):
        (tmp_path / "tables" / f"{table}.duckdb").write_text("")
    builds = {  # build -> the versions of tables a and b it reads
        "build-20261101T000000000000Z": ("a-1", "b-1"),
        "build-20261102T000000000000Z": ("a-1", "b-2"),
        "build-20261104T000000000000Z": ("a-2", "b-2"),
    }
    for build, (a, b) in builds.items():
        tables = {"a": f"tables/{a}.duckdb", "b": f"tables/{b}.duckdb"}
        (tmp_path / f"{build}.json").write_text(
            orjson.dumps({"build": {}, "tables": tables}).decode()
        )

    deleted = forget.delete_snapshots_before(tmp_path, "build-20261103T000000000000Z")

    older = [tmp_path / f"{build}.json" for build in list(builds)[:2]]
    assert deleted == [
        str(p) for p in [*older, tmp_path / "tables/a-1.duckdb", tmp_path / "tables/b-1.duckdb"]
    ]
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.*"))
    assert left == ["build-20261104T000000000000Z.json", "tables/a-2.duckdb", "tables/b-2.duckdb"]


def normalised(statements: list[dict]) -> tuple[list[tuple], list[tuple]]:
    """Rows and rejects as the transform's normaliser makes them (every IFI pseudonymised)."""
    records = [
        KafkaRecord(offset, orjson.dumps(e), "test", 0) for offset, e in enumerate(statements)
    ]
    return normalise_chunk(records, 0, SALT)


def taught_by_bob(n: int) -> dict:
    """Ada's statement, with Bob as its instructor and in the team."""
    return statement({"mbox": "mailto:ada@example.com"}, n) | {
        "context": {
            "instructor": {"mbox": "mailto:bob@example.com", "name": "Bob"},
            "team": {"objectType": "Group", "member": [{"mbox": "mailto:BOB@example.com"}]},
        }
    }


def test_erase_replaces_the_learner_in_other_learners_statements(settings: Settings) -> None:
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    rows, _ = normalised([taught_by_bob(1)])
    land_batch(con, NormalisedBatch("t", 0, 0, 1, rows), salt=SALT)
    assert BOB in con.execute("SELECT statement::VARCHAR FROM raw.statements").fetchone()[0]
    cy_says_bob = {"actor": {"mbox": "mailto:cy@example.com"}, "note": "Bob@Example.com, " + BOB}
    con.execute(
        "INSERT INTO raw.quarantine VALUES ('t', 0, 0, NULL, NULL, ['r'], ?, now())",
        [orjson.dumps(cy_says_bob).decode()],
    )

    summary = forget.erase(con, BOB, "mailto:bob@example.com", SALT)

    assert summary["erased"]["raw.statements"] == 0  # Ada's statement stays ...
    assert summary["mentions_replaced"] == {
        "raw.statements.statement": 1,
        "raw.quarantine.payload": 1,
    }
    (stored,) = con.execute("SELECT statement FROM raw.statements").fetchone()
    context = orjson.loads(stored)["context"]
    marker = {"homePage": forget.PSEUDONYM_HOME_PAGE, "name": forget.FORGOTTEN}
    assert context["instructor"]["account"] == marker  # ... without Bob in it
    assert context["team"]["member"][0]["account"] == marker
    (payload,) = con.execute("SELECT payload FROM raw.quarantine").fetchone()
    assert orjson.loads(payload)["note"] == "forgotten, forgotten"
    assert forget.remaining(con, BOB, ("bob@example.com",)) == {}
    assert forget.remaining(con, ADA) == {"raw.statements": 1}
    con.close()


def test_remaining_finds_the_learner_in_any_text_column_of_any_table(settings: Settings) -> None:
    con = warehouse.connect(settings)
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.notes (about VARCHAR, tags VARCHAR[], n INTEGER)")
    con.execute(
        "INSERT INTO marts.notes VALUES ('x', ['a', ?], 1), ('BOB@example.com', [], 2)", [BOB]
    )
    con.execute("INSERT INTO marts.notes VALUES ('nobody', [], 3)")
    assert forget.remaining(con, BOB) == {"marts.notes": 1}
    assert forget.remaining(con, BOB, ("bob@example.com",)) == {"marts.notes": 2}
    con.close()


def test_landing_leaves_out_the_forgotten_and_unmentions_them_in_other_statements(
    settings: Settings,
) -> None:
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    bobs = statement({"mbox": "mailto:bob@example.com"}, 1)
    bobs_invalid = {"actor": {"mbox": "mailto:bob@example.com"}, "verb": "taught"}
    rows, rejects = normalised([bobs, taught_by_bob(2), statement({"mbox": "mailto:cy@x.org"}, 3)])
    _, more_rejects = normalised([bobs_invalid, {"actor": {"mbox": "mailto:cy@x.org"}, "n": BOB}])
    table = statement_table(rows)
    rejects += [*more_rejects, (0, 9, None, "file", ["not JSON"], f"{{garbage of {BOB}")]

    untouched = forget.honour_tombstones(con, table, rejects, SALT)
    assert untouched == (table, rejects, 0)  # no tombstones: the batch as it came

    con.execute("INSERT INTO raw.forgotten_learners VALUES (?, now())", [BOB])
    kept, kept_rejects, dropped = forget.honour_tombstones(con, table, rejects, SALT)

    assert dropped == 3  # Bob's statement, his invalid event, unreadable text naming him
    assert kept.column("learner_id").to_pylist() == [ADA, learner_id("mailto:cy@x.org", SALT)]
    assert BOB not in repr(kept.to_pylist()) and BOB not in repr(kept_rejects)
    context = orjson.loads(kept.column("statement")[0].as_py())["context"]
    assert context["instructor"]["account"]["name"] == forget.FORGOTTEN
    assert len(kept_rejects) == 1 and forget.FORGOTTEN in kept_rejects[0][5]
    con.close()
