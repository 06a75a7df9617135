import concurrent.futures
import threading
from datetime import datetime

import duckdb
import pytest

from skillstream import warehouse
from skillstream.settings import Settings
from skillstream.transforms.land import LandBatches, OffsetGap, land_batch
from skillstream.transforms.records import STATEMENT_COLUMNS, NormalisedBatch, statement_table

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def row(statement_id: str, offset: int, content: str = "a", voids: str | None = None) -> tuple:
    values = dict.fromkeys(STATEMENT_COLUMNS)
    values.update(
        statement_id=statement_id,
        learner_id="l" * 64,
        verb_id=VOIDED if voids else "https://v",
        object_type="StatementRef" if voids else "Activity",
        object_id=voids or "https://o",
        declared_course_ids=[],
        parent_ids=[],
        grouping_ids=[],
        skill_ids=[],
        voids_statement_id=voids,
        occurred_at=datetime(2026, 7, 1),
        stored_at=datetime(2026, 7, 1),
        kafka_partition=0,
        kafka_offset=offset,
        content_hash=content,
        statement="{}",
    )
    return tuple(values[c] for c in STATEMENT_COLUMNS)


@pytest.fixture
def con(settings: Settings) -> duckdb.DuckDBPyConnection:
    connection = warehouse.connect(settings)
    warehouse.ensure_raw_schema(connection)
    yield connection
    connection.close()


def batch(start: int, end: int, rows=(), rejects=()) -> NormalisedBatch:
    return NormalisedBatch("t", 0, start, end, list(rows), list(rejects))


def landed(con) -> list[tuple]:
    return con.execute(
        "SELECT statement_id, kafka_offset, is_voided FROM raw.statements ORDER BY 2"
    ).fetchall()


def quarantined(con) -> list[tuple]:
    return con.execute(
        "SELECT kafka_offset, statement_id, reasons FROM raw.quarantine ORDER BY 1"
    ).fetchall()


def next_offset(con) -> int:
    return con.execute("SELECT next_offset FROM raw.ingest_offsets WHERE topic = 't'").fetchone()[0]


def test_statements_and_the_next_offset_land_together(con) -> None:
    counts = land_batch(
        con, batch(0, 3, [row("a", 0), row("b", 2)], [(0, 1, None, "file", ["bad"], "x")])
    )
    assert counts == {
        "landed": 2,
        "duplicates": 0,
        "conflicts": 0,
        "quarantined": 1,
        "voided": 0,
    }
    assert landed(con) == [("a", 0, False), ("b", 2, False)]
    assert quarantined(con) == [(1, None, ["bad"])]
    assert next_offset(con) == 3


def test_the_statement_json_lands_as_written_and_reads_as_json(con) -> None:
    """The landing hands DuckDB the statement column typed JSON (not checked again): what
    lands is byte for byte what the normaliser wrote, and JSON functions read it."""
    written = '{"verb":{"id":"https://v","display":{"en":"d\\u00e9j\\u00e0 \\"vu\\""}},"n":1.5e-07}'
    first = list(row("a", 0))
    first[STATEMENT_COLUMNS.index("statement")] = written
    land_batch(con, batch(0, 1, [tuple(first)]))
    assert con.execute(
        "SELECT typeof(statement), statement::VARCHAR FROM raw.statements"
    ).fetchall() == [("JSON", written)]
    assert con.execute(
        "SELECT statement->>'$.verb.display.en', (statement->>'$.n')::DOUBLE FROM raw.statements"
    ).fetchall() == [('déjà "vu"', 1.5e-07)]


def test_a_ranges_last_records_land_in_two_halves_not_a_full_transaction_and_a_rest(
    settings, con
) -> None:
    """land_rows 4, a range of 0..6 read a record a batch: 0..3 and 3..6 land, not 0..4 and
    4..6; a range of 0..3 lands at once at its end (nothing left is at least half)."""
    lander = LandBatches(settings, land_rows=4)
    lander._con, lander._dead_letters, lander._salt = con, None, None
    lander._landing = concurrent.futures.ThreadPoolExecutor(1)
    lander.start_bundle()
    landed_counts = []
    for partition, start, end in [(0, 0, 6), (1, 0, 3)]:
        for offset in range(start, end):
            counts = lander.process(
                NormalisedBatch(
                    "t",
                    partition,
                    offset,
                    offset + 1,
                    [row(f"{partition}-{offset}", offset)],
                    closes_range=offset + 1 == end,
                    range_end=end,
                )
            )
            landed_counts += [c["landed"] for c in counts]
    landed_counts += [w.value["landed"] for w in lander.finish_bundle()]
    assert landed_counts == [3, 3, 3]
    assert con.execute(
        "SELECT kafka_partition, next_offset FROM raw.ingest_offsets ORDER BY 1"
    ).fetchall() == [(0, 6), (1, 3)]


def test_same_id_same_content_is_ignored_different_content_is_a_conflict(con) -> None:
    land_batch(con, batch(0, 1, [row("a", 0, "h1")]))
    counts = land_batch(con, batch(1, 4, [row("a", 1, "h1"), row("a", 2, "h2"), row("c", 3, "h3")]))
    assert counts == {
        "landed": 1,
        "duplicates": 1,
        "conflicts": 1,
        "quarantined": 0,
        "voided": 0,
    }
    assert landed(con) == [("a", 0, False), ("c", 3, False)]
    assert quarantined(con)[0][:2] == (2, "a")
    assert "conflict" in quarantined(con)[0][2][0]


def test_landed_ids_are_found_by_their_key_also_in_older_warehouses(settings: Settings) -> None:
    """The landing finds earlier copies of ids by id_key; rows without one (a warehouse made
    before id_key, rows written by other means) are given it, or looked at until they are."""
    con = warehouse.connect(settings)
    warehouse.ensure_raw_schema(con)
    con.execute("ALTER TABLE raw.statements DROP COLUMN id_key")  # as made before id_key
    con.register("old", statement_table([row("a", 0, "h1")]))
    con.execute(
        "INSERT INTO raw.statements BY NAME "
        "SELECT *, false AS is_voided, now()::TIMESTAMP AS landed_at FROM old"
    )
    warehouse.ensure_raw_schema(con)
    assert con.execute(
        f"SELECT id_key = {warehouse.id_key('statement_id')} FROM raw.statements"
    ).fetchall() == [(True,)]
    con.execute("UPDATE raw.statements SET id_key = NULL")  # written without one, say
    land_batch(con, batch(1, 2, [row("b", 1, "h2")]))
    counts = land_batch(con, batch(2, 4, [row("a", 2, "h1"), row("b", 3, "h3")]))
    assert (counts["landed"], counts["duplicates"], counts["conflicts"]) == (0, 1, 1)
    assert con.execute(
        f"SELECT statement_id, id_key = {warehouse.id_key('statement_id')} FROM raw.statements "
        "ORDER BY 1"
    ).fetchall() == [("a", None), ("b", True)]
    con.close()


def test_repeats_within_one_batch(con) -> None:
    counts = land_batch(
        con, batch(0, 3, [row("a", 0, "h"), row("a", 1, "h"), row("a", 2, "other")])
    )
    assert (counts["landed"], counts["duplicates"], counts["conflicts"]) == (1, 1, 1)


def test_voiding_applies_whichever_arrives_first(con) -> None:
    first = land_batch(con, batch(0, 2, [row("target-1", 0), row("void-2", 1, voids="target-2")]))
    assert first["voided"] == 0  # target-2 has not arrived yet
    second = land_batch(con, batch(2, 4, [row("void-1", 2, voids="target-1"), row("target-2", 3)]))
    assert second["voided"] == 2
    assert landed(con) == [
        ("target-1", 0, True),
        ("void-2", 1, False),
        ("void-1", 2, False),
        ("target-2", 3, True),
    ]


def test_statements_and_rejects_of_a_forgotten_learner_do_not_land(
    con: duckdb.DuckDBPyConnection,
) -> None:
    forgotten = dict(zip(STATEMENT_COLUMNS, row("s2", 1), strict=True)) | {"learner_id": "f" * 64}
    con.execute("INSERT INTO raw.forgotten_learners VALUES (?, now())", ["f" * 64])
    from skillstream.xapi.identity import learner_id

    salt = "s"
    reject_payload = '{"actor": {"mbox": "mailto:F@example.com"}}'
    con.execute(
        "INSERT INTO raw.forgotten_learners VALUES (?, now())",
        [learner_id("mailto:f@example.com", salt)],
    )
    rejects = [
        (0, 3, None, None, ["$: bad"], reject_payload),
        (0, 4, None, None, ["$: bad"], '{"actor": {"mbox": "mailto:g@example.com"}}'),
    ]
    counts = land_batch(
        con,
        batch(
            0,
            5,
            [row("s1", 0), tuple(forgotten[c] for c in STATEMENT_COLUMNS), row("s3", 2)],
            rejects,
        ),
        salt=salt,
    )
    assert counts["forgotten"] == 2 and counts["landed"] == 2 and counts["quarantined"] == 1
    assert [r[0] for r in landed(con)] == ["s1", "s3"]
    assert [r[0] for r in quarantined(con)] == [4]
    # The offsets still advance past the dropped records: nothing is read again for them.
    assert con.execute("SELECT next_offset FROM raw.ingest_offsets").fetchall() == [(5,)]


def test_an_overlapping_batch_is_trimmed_to_what_has_not_landed(con) -> None:
    land_batch(con, batch(0, 2, [row("a", 0), row("b", 1)]))
    counts = land_batch(con, batch(0, 3, [row("a", 0), row("b", 1), row("c", 2)]))
    assert counts["landed"] == 1 and counts["duplicates"] == 0
    assert next_offset(con) == 3
    assert land_batch(con, batch(1, 3, [row("b", 1), row("c", 2)])) == {"already_landed": 2}


def test_a_hole_in_the_offsets_is_refused_and_nothing_lands(con) -> None:
    land_batch(con, batch(0, 2, [row("a", 0)]))
    with pytest.raises(OffsetGap, match="batch starts at 5 but offsets from 2 have not landed"):
        land_batch(con, batch(5, 6, [row("z", 5)]))
    assert landed(con) == [("a", 0, False)]
    assert next_offset(con) == 2


def test_rejections_go_to_the_dead_letter_callback_inside_the_transaction(con) -> None:
    sent: list[tuple] = []

    def dead_letter(b: NormalisedBatch, rejects: list[tuple]) -> int:
        sent.extend(rejects)
        return len(rejects)

    bad = (0, 1, None, "file", ["bad"], "x")
    counts = land_batch(con, batch(0, 2, [row("a", 0)], [bad]), dead_letter)
    assert counts["dead_lettered"] == 1 and sent == [bad]
    # Replayed after a crash: what has landed is not dead-lettered again.
    assert land_batch(con, batch(0, 2, [row("a", 0)], [bad]), dead_letter) == {"already_landed": 2}
    assert sent == [bad]


def test_a_failing_dead_letter_send_lands_nothing(con) -> None:
    def unreachable(b: NormalisedBatch, rejects: list[tuple]) -> int:
        raise RuntimeError("DLQ down")

    with pytest.raises(RuntimeError, match="DLQ down"):
        land_batch(con, batch(0, 2, [row("a", 0)], [(0, 1, None, "f", ["bad"], "x")]), unreachable)
    assert landed(con) == [] and quarantined(con) == []
    assert con.execute("SELECT count(*) FROM raw.ingest_offsets").fetchone()[0] == 0


def test_consecutive_batches_of_a_partition_land_in_one_transaction(settings, con) -> None:
    """While catching up, batches gather up to `land_rows` records a transaction (DuckDB writes
    large inserts once, straight to the file); a range's last batch, a batch that does not
    continue the gathered ones and the end of the bundle land what is gathered at once.
    Transactions land on the landing thread, in order; the bundle goes on while those in
    flight hold up to 2 x `land_rows` records, and otherwise waits for the oldest, whose
    counts it yields."""
    lander = LandBatches(settings, land_rows=4)
    lander._con, lander._dead_letters, lander._salt = con, None, None
    lander._landing = concurrent.futures.ThreadPoolExecutor(1)
    # Nothing lands until the gate opens: the bundle must go on without waiting meanwhile (if
    # it waited, the timer would open the gate after 30 s and the test would fail, not hang).
    gate = threading.Event()
    lander._landing.submit(gate.wait)
    safety = threading.Timer(30, gate.set)
    safety.start()
    batches = [
        batch(0, 2, [row("a", 0)], [(0, 1, None, "file", ["bad"], "x")]),
        batch(2, 4, [row("b", 2), row("c", 3)]),  # 4 records gathered: 0..4 goes to land
        batch(4, 5, [row("d", 4)]),
        NormalisedBatch("t", 1, 0, 1, [row("f", 0)]),  # partition 1: 4..5 of 0 goes to land
        NormalisedBatch("t", 1, 1, 2, [row("g", 1)], closes_range=True),  # its 0..2 goes too
    ]
    offsets = "SELECT kafka_partition, next_offset FROM raw.ingest_offsets ORDER BY 1"
    lander.start_bundle()
    try:
        for b in batches:
            assert list(lander.process(b)) == []
        assert not gate.is_set()  # three transactions of 4 + 1 + 2 records queued
        assert [records for records, _ in lander._in_flight] == [4, 1, 2]
    finally:
        gate.set()
        safety.cancel()
    # 4 more: 7 in flight + 4 is over 8, so the bundle waits for the oldest, 0..4
    more = batch(5, 9, [row("e", 5), row("h", 6), row("i", 7), row("j", 8)])
    assert [(c["landed"], c.get("quarantined")) for c in lander.process(more)] == [(3, 1)]
    assert [records for records, _ in lander._in_flight] == [1, 2, 4]
    assert [w.value["landed"] for w in lander.finish_bundle()] == [1, 2, 4]
    assert not lander._in_flight
    assert con.execute(offsets).fetchall() == [(0, 9), (1, 2)]
    assert sorted(r[0] for r in landed(con)) == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    assert quarantined(con) == [(1, None, ["bad"])]
