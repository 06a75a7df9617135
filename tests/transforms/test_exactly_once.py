"""Exactly-once landing against the real broker and warehouse (docs/design.md §2): SIGKILLs of the
transform (also as it writes to the warehouse), a producer killed mid-file and the file
replayed, the broker stopped and restarted mid-run. Each test compares the ids landed with
the ids produced: nothing lost, nothing twice."""

from __future__ import annotations

import gzip
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import orjson
import pytest

from skillstream import broker as broker_module
from skillstream import kafka
from skillstream.settings import Settings
from tests.conftest import CORPUS, make_settings, run_cli
from tests.transforms.conftest import NORMALISED_WITH

pytestmark = pytest.mark.integration

BATCH = "200"
# Records a landing transaction gathers (transform_land_rows): five batches, so that kills
# also come between the batches of one transaction, and a run lands several transactions.
LAND_ROWS = 1000
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def simulate(settings: Settings, directory: Path, learners: int) -> tuple[Path, set[str]]:
    statements = directory / "statements.ndjson"
    run_cli(
        settings, "simulate", "--learners", str(learners), "--seed", "5", "--out", str(statements)
    )
    return statements, {orjson.loads(line)["id"] for line in statements.read_bytes().splitlines()}


def produce_simulated(settings: Settings, directory: Path, learners: int) -> set[str]:
    statements, ids = simulate(settings, directory, learners)
    run_cli(settings, "ingest", "file", str(statements))
    return ids


def produce_raw(settings: Settings, values: list[bytes]) -> None:
    """Records written by some other producer, straight to the topic: not validated before."""
    producer = kafka.producer(settings)
    try:
        futures = [producer.send(settings.statements_topic, value=v) for v in values]
        producer.flush()
        assert kafka.wait_acknowledged(futures) == []
    finally:
        producer.close()


def landed(settings: Settings) -> tuple[list[str], dict[int, int]]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        ids = [r[0] for r in con.execute("SELECT statement_id FROM raw.statements").fetchall()]
        offsets = dict(
            con.execute("SELECT kafka_partition, next_offset FROM raw.ingest_offsets").fetchall()
        )
    finally:
        con.close()
    return ids, offsets


def query(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def end_offsets(settings: Settings) -> dict[int, int]:
    return {p: end for p, (_, end) in kafka.offsets(settings, settings.statements_topic).items()}


def assert_exactly_once(settings: Settings, produced: set[str]) -> None:
    ids, offsets = landed(settings)
    assert len(ids) == len(set(ids)), "a statement landed twice"
    assert set(ids) - produced == set(), "a statement landed that was never produced"
    assert produced - set(ids) == set(), f"{len(produced - set(ids))} statements were lost"
    assert offsets == end_offsets(settings), "the landed offsets are not the end of the topic"


class Transform:
    """`skillstream transform` in a child process; its stderr lines read as they come."""

    def __init__(self, settings: Settings, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skillstream.cli", "transform", *args],
            env={**os.environ, **settings.as_env(), **(env or {})},
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self.stdout: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        threading.Thread(target=self._drain_stdout, daemon=True).start()

    def _drain_stdout(self) -> None:
        assert self.process.stdout is not None
        self.stdout.extend(self.process.stdout)

    def landed_so_far(self) -> int:
        """statements_landed over the summary lines printed so far (one per --follow round)."""
        return sum(orjson.loads(line).get("statements_landed", 0) for line in list(self.stdout))

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def forget_seen(self) -> None:
        """Drop the lines read so far: `wait_for` then looks only at what comes next."""
        while not self.lines.empty():
            if self.lines.get_nowait() is None:
                self.lines.put(None)
                return

    def wait_for(self, text: str, occurrence: int = 1, timeout: float = 120) -> bool:
        """True once `occurrence` stderr lines contained `text`; False when the run ended."""
        seen = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                return False
            if text in line:
                seen += 1
                if seen == occurrence:
                    return True
        raise AssertionError(f"no {text!r} within {timeout} s:\n{''.join(self.stderr[-20:])}")

    def kill(self) -> bool:
        """SIGKILL; True when the process was still running."""
        alive = self.process.poll() is None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        return alive

    def wait(self, timeout: float = 300) -> int:
        return self.process.wait(timeout=timeout)


def test_a_second_run_lands_nothing_new(pipeline_settings: Settings, tmp_path: Path) -> None:
    produced = produce_simulated(pipeline_settings, tmp_path, learners=40)
    first = orjson.loads(run_cli(pipeline_settings, "transform", "--until-caught-up").stdout)
    assert first["statements_landed"] == len(produced)
    second = orjson.loads(run_cli(pipeline_settings, "transform", "--until-caught-up").stdout)
    assert second == {"partitions": 0}
    assert_exactly_once(pipeline_settings, produced)


def test_twenty_sigkills_at_random_moments_lose_nothing_and_land_nothing_twice(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    pipeline_settings = pipeline_settings.with_overrides(transform_land_rows=LAND_ROWS)
    produced = produce_simulated(pipeline_settings, tmp_path, learners=2000)
    invalid = [b'{"id": "not-a-statement"}', b"{oops", b"", b'{"a": 1, "a": 2}'] * 10
    produce_raw(pipeline_settings, invalid)
    rng = random.Random(2026)
    kills: dict[str, int] = {"while writing": 0, "between batches": 0, "at a random time": 0}
    attempts = 0
    while sum(kills.values()) < 21 and attempts < 40:
        attempts += 1
        moment = list(kills)[attempts % 3]
        run = Transform(pipeline_settings, "--until-caught-up", "--batch-size", BATCH)
        if moment == "while writing":  # logged as the landing transaction begins
            reached = run.wait_for(" writing ", occurrence=rng.randint(1, 3))
        elif moment == "between batches":
            reached = run.wait_for(" committed ", occurrence=rng.randint(1, 3))
        else:  # start-up, planning, reading Kafka, normalising or writing: wherever it is
            time.sleep(rng.uniform(0.5, 4.0))
            reached = True
        if reached and run.kill():
            kills[moment] += 1
        else:
            run.kill()
            break  # the run finished: everything has landed
    assert sum(kills.values()) >= 20, f"only {kills} kills before the input was all landed"
    assert min(kills.values()) >= 5, kills
    assert landed(pipeline_settings)[0], "the kills left nothing landed: they came too early"
    assert set(landed(pipeline_settings)[0]) != produced, "the input landed before the kills"

    summary = orjson.loads(run_cli(pipeline_settings, "transform", "--until-caught-up").stdout)
    assert summary["partitions"] > 0
    assert_exactly_once(pipeline_settings, produced)
    quarantined = query(
        pipeline_settings,
        "SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset)) FROM raw.quarantine",
    )
    assert quarantined == [(len(invalid), len(invalid))]
    # The DLQ is at least once (a kill after the send, before COMMIT, repeats a dead letter);
    # its keys name the record, so each invalid record is there under one key.
    dlq = kafka.consumer(pipeline_settings, consumer_timeout_ms=3000)
    try:
        dlq.subscribe([pipeline_settings.dlq_topic])
        keys = {message.key for message in dlq}
    finally:
        dlq.close()
    assert len(keys) == len(invalid)


def test_a_producer_killed_mid_file_then_the_file_replayed_lands_each_statement_once(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    statements, produced = simulate(pipeline_settings, tmp_path, learners=3000)
    ingest = subprocess.Popen(
        [sys.executable, "-m", "skillstream.cli", "ingest", "file", str(statements)],
        env={**os.environ, **pipeline_settings.as_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = kafka.consumer(pipeline_settings)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            topic = kafka.offsets(pipeline_settings, pipeline_settings.statements_topic, probe)
            if sum(end for _, end in topic.values()) >= len(produced) // 4:
                break
            time.sleep(0.02)
    finally:
        probe.close()
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    before_replay = sum(end_offsets(pipeline_settings).values())
    assert 0 < before_replay < len(produced), "the producer was not killed mid-file"
    # What reached Kafka before the kill lands; then the whole file is produced again.
    run_cli(pipeline_settings, "transform", "--until-caught-up")
    run_cli(pipeline_settings, "ingest", "file", "--restart", str(statements))
    summary = orjson.loads(run_cli(pipeline_settings, "transform", "--until-caught-up").stdout)
    assert_exactly_once(pipeline_settings, produced)
    in_kafka = sum(end_offsets(pipeline_settings).values())
    assert in_kafka == before_replay + len(produced)
    assert summary["statements_duplicates"] == before_replay
    assert summary.get("statements_conflicts", 0) == 0


@pytest.fixture
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A broker of this test alone: it is stopped and restarted mid-run."""
    root = tmp_path_factory.mktemp("restarted-broker")
    settings = make_settings(root, bootstrap=f"localhost:{broker_module.free_port()}")
    broker_module.up(settings)
    try:
        kafka.ensure_topics(settings)
        yield settings
    finally:
        broker_module.down(settings)


def test_the_broker_stopped_and_restarted_mid_run_loses_nothing(
    own_broker: Settings, tmp_path: Path
) -> None:
    own_broker = own_broker.with_overrides(transform_land_rows=LAND_ROWS)
    produced = produce_simulated(own_broker, tmp_path, learners=1500)
    run = Transform(own_broker, "--until-caught-up", "--batch-size", BATCH)
    assert run.wait_for(" committed ", occurrence=3), "the run ended before the broker stopped"
    # Stopped while the broker goes down, so the run is surely mid-way when it is gone;
    # continued before it is back, so the run meets the outage.
    run.process.send_signal(signal.SIGSTOP)
    try:
        assert broker_module.down(own_broker)
    finally:
        run.process.send_signal(signal.SIGCONT)
    time.sleep(3)
    broker_module.up(own_broker)
    returncode = run.wait(timeout=300)
    # The run rides out the outage (the consumer reconnects), or fails with a clear error.
    assert returncode == 0, "".join(run.stderr[-20:])
    run_cli(own_broker, "transform", "--until-caught-up")
    assert_exactly_once(own_broker, produced)


def test_the_real_corpora_land_exactly_once_also_when_ingested_twice(
    pipeline_settings: Settings, normaliser: str
) -> None:
    ralph = CORPUS / "real" / "ralph-potsie-statements.ndjson.gz"
    datasim = CORPUS / "real" / "datasim-tccc-dev.json"
    produced = {
        orjson.loads(line)["id"] for line in gzip.decompress(ralph.read_bytes()).splitlines()
    }
    produced |= {s["id"] for s in orjson.loads(datasim.read_bytes())}
    assert len(produced) == 22_000 + 2_814
    run_cli(pipeline_settings, "ingest", "file", str(ralph), str(datasim))
    first_run = run_cli(pipeline_settings, "transform", "--until-caught-up")
    assert NORMALISED_WITH[normaliser] in first_run.stderr
    first = orjson.loads(first_run.stdout)
    assert first["statements_landed"] == len(produced)
    run_cli(pipeline_settings, "ingest", "file", "--restart", str(ralph), str(datasim))
    second = orjson.loads(run_cli(pipeline_settings, "transform", "--until-caught-up").stdout)
    assert second["statements_duplicates"] == len(produced)
    assert second.get("statements_landed", 0) == 0
    assert second.get("statements_conflicts", 0) == 0
    assert_exactly_once(pipeline_settings, produced)
    assert query(pipeline_settings, "SELECT count(*) FROM raw.quarantine") == [(0,)]
